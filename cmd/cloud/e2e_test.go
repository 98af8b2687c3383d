package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the real cloud binary against the real Pulumi CLI with
// the example stacks, on a real SQLite store and a local file backend.

var cloudBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cloud-e2e-")
	if err != nil {
		panic(err)
	}
	cloudBin = filepath.Join(dir, "cloud")
	build := exec.Command("go", "build", "-o", cloudBin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cloud:", err)
		os.Exit(1)
	}
	// The localfile provider, for stacks that own real local files; the
	// engine finds it on PATH.
	provider := exec.Command("go", "build", "-o", filepath.Join(dir, "pulumi-resource-localfile"), "../pulumi-resource-localfile")
	provider.Stdout, provider.Stderr = os.Stdout, os.Stderr
	if err := provider.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build provider:", err)
		os.Exit(1)
	}
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if os.Getenv("CLOUD_PULUMI") == "" {
		_, file, _, _ := runtime.Caller(0)
		p := filepath.Join(filepath.Dir(file), "..", "..", ".tools", "bin", "pulumi")
		if _, err := os.Stat(p); err == nil {
			os.Setenv("CLOUD_PULUMI", p)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// cloud runs the binary with a home of the test's own, and no stacks
// directory: only the stacks built into cloud.
func cloud(t *testing.T, home string, args ...string) result {
	t.Helper()
	return cloudEnv(t, home, []string{"CLOUD_STACKS_DIR=" + filepath.Join(home, "no-stacks")}, args...)
}

// cloudEnv is cloud with more environment variables.
func cloudEnv(t *testing.T, home string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(cloudBin, append([]string{"--home", home, "--no-color"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return runResult(t, cmd)
}

// runResult runs a command and returns its exit code and output; a command
// that cannot be started fails the test.
func runResult(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return result{code, out.String(), errb.String()}
}

func mustCloud(t *testing.T, home string, args ...string) result {
	t.Helper()
	r := cloud(t, home, args...)
	if r.code != 0 {
		t.Fatalf("cloud %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// items decodes a list document ({items, totalCount}) into its items.
func items[T any](t *testing.T, s string) []T {
	t.Helper()
	return decode[struct{ Items []T }](t, s).Items
}

// emptyList reports whether s is a list document without items.
func emptyList(s string) bool {
	var p struct {
		Items      []json.RawMessage `json:"items"`
		TotalCount int               `json:"totalCount"`
	}
	return json.Unmarshal([]byte(s), &p) == nil && p.Items != nil && len(p.Items) == 0 && p.TotalCount == 0
}

// outputsOf decodes an outputs list into stack -> name -> value, secrets
// not shown as "[secret]".
func outputsOf(t *testing.T, s string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range items[struct {
		Stack, Name      string
		Value            any
		Redacted, Sealed bool
	}](t, s) {
		if out[o.Stack] == nil {
			out[o.Stack] = map[string]any{}
		}
		switch {
		case o.Sealed:
			out[o.Stack][o.Name] = "[secret, sealed on another machine]"
		case o.Redacted:
			out[o.Stack][o.Name] = "[secret]"
		default:
			out[o.Stack][o.Name] = o.Value
		}
	}
	return out
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

type statusJSON struct {
	Environments []struct {
		Name   string
		Status string
		Stacks []struct {
			Name          string
			Status        string
			Reason        string
			ResourceCount int
		}
	}
}

type eventJSON struct {
	OperationID string
	Seq         int64
	Stack       string
	Kind        string
	Time        time.Time
	Payload     json.RawMessage
}

func stackStatuses(t *testing.T, home, id string) map[string]string {
	t.Helper()
	st := decode[statusJSON](t, mustCloud(t, home, "status", id, "-e", "dev", "-o", "json").stdout)
	out := map[string]string{}
	for _, s := range st.Environments[0].Stacks {
		out[s.Name] = s.Status
	}
	return out
}

func events(t *testing.T, home, id, op string) []eventJSON {
	t.Helper()
	var evs []eventJSON
	r := mustCloud(t, home, "logs", id, "--operation", op, "-o", "json")
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var e eventJSON
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	return evs
}

// reportJSON is the part of an operation's document the tests read.
type reportJSON struct {
	ID     string        `json:"id"`
	Status string        `json:"status"`
	Stacks []reportStack `json:"stacks"`
}

type reportStack struct {
	Stack   string
	Status  string
	Reason  string
	Error   string
	Changes map[string]int
}

func TestDemoDeployment(t *testing.T) {
	home := t.TempDir()
	id := strings.TrimSpace(mustCloud(t, home, "init", "--id", "DDEMO01", "--org", "acme", "--project", "shop",
		"--domain", "shop.example.com", "--template", "demo").stdout)
	if id != "DDEMO01" {
		t.Fatalf("init printed %q, want DDEMO01", id)
	}

	// A preview before anything is deployed runs on mock outputs, says so,
	// and changes no stack's state.
	preview := decode[reportJSON](t, mustCloud(t, home, "preview", id, "-e", "dev", "-o", "json").stdout)
	for _, s := range preview.Stacks {
		if s.Status != "previewed" {
			t.Errorf("preview: %s is %s (%s), want previewed", s.Stack, s.Status, s.Error)
		}
		if s.Stack == "app" && !strings.Contains(s.Reason, "mock outputs for bucketName, dbEndpoint") {
			t.Errorf("preview of app does not name its mock inputs: %q", s.Reason)
		}
	}
	for name, s := range stackStatuses(t, home, id) {
		if s != "not_deployed" {
			t.Errorf("after preview, %s is %s, want not_deployed", name, s)
		}
	}

	first := decode[reportJSON](t, mustCloud(t, home, "deploy", id, "-e", "dev", "-o", "json").stdout)
	if got, want := first.Status, "succeeded"; got != want {
		t.Fatalf("first deploy: %s, want %s", got, want)
	}
	for name, s := range stackStatuses(t, home, id) {
		if s != "deployed" {
			t.Errorf("after deploy, %s is %s, want deployed", name, s)
		}
	}

	// Downstream stacks received the actual upstream values.
	outs := outputsOf(t, mustCloud(t, home, "outputs", id, "-e", "dev", "-o", "json").stdout)
	checks := []struct{ stack, output, upStack, upOutput string }{
		{"app", "dbEndpoint", "database", "endpoint"},
		{"app", "bucketName", "storage", "bucketName"},
	}
	for _, c := range checks {
		got, want := outs[c.stack][c.output], outs[c.upStack][c.upOutput]
		if want == nil || got != want {
			t.Errorf("%s.%s = %v, want %s.%s = %v", c.stack, c.output, got, c.upStack, c.upOutput, want)
		}
	}
	if got, want := outs["app"]["url"], "https://app.dev.shop.example.com"; got != want {
		t.Errorf("app.url = %v, want %v (embedded placeholders)", got, want)
	}
	if got := outs["database"]["password"]; got != "[secret]" {
		t.Errorf("database.password shown as %v without --show-secrets", got)
	}
	shown := outputsOf(t, mustCloud(t, home, "outputs", id, "database", "-e", "dev", "--show-secrets", "-o", "json").stdout)
	if got, want := shown["database"]["password"], "change-me"; got != want {
		t.Errorf("database.password with --show-secrets = %v, want %v", got, want)
	}

	// Nothing changed: every stack is unchanged and no Pulumi program ran.
	second := decode[reportJSON](t, mustCloud(t, home, "deploy", id, "-e", "dev", "-o", "json").stdout)
	for _, s := range second.Stacks {
		if s.Status != "unchanged" {
			t.Errorf("second deploy: %s is %s, want unchanged", s.Stack, s.Status)
		}
	}
	for _, e := range events(t, home, id, second.ID) {
		if e.Kind == "engine" {
			t.Errorf("second deploy ran the engine for %s: %s", e.Stack, e.Payload)
			break
		}
	}

	// A config change previews as the update it is, naming the property,
	// though the demo's resources are components (no provider diffs them).
	mustCloud(t, home, "config", "set", id, "stacks.app.config.replicas", "3")
	changed := decode[reportJSON](t, mustCloud(t, home, "preview", id, "-e", "dev", "-o", "json").stdout)
	for _, s := range changed.Stacks {
		want := 0
		if s.Stack == "app" {
			want = 1
		}
		if s.Changes["update"] != want {
			t.Errorf("preview after replicas 2→3: %s changes %v, want %d update", s.Stack, s.Changes, want)
		}
	}
	logs := mustCloud(t, home, "logs", id, "--operation", changed.ID, "--stack", "app").stdout
	if want := "update cloud:examples:Service DDEMO01-app-dev-svc [diff: replicas]"; !strings.Contains(logs, want) {
		t.Errorf("logs of the preview do not say %q:\n%s", want, logs)
	}
	// One line per step (a component reports its outputs twice), and the
	// plan in words, not JSON.
	if n := strings.Count(logs, "update cloud:examples:Service DDEMO01-app-dev-svc done"); n != 1 {
		t.Errorf("the service's update is done %d times in the logs, want once:\n%s", n, logs)
	}
	if want := "plan preview of revision 2: 6 stacks L0[network] L1[security] L2[database storage] L3[app] L4[monitoring]"; !strings.Contains(logs, want) {
		t.Errorf("logs of the preview do not say %q:\n%s", want, logs)
	}

	// Destroy runs dependents first.
	destroy := decode[reportJSON](t, mustCloud(t, home, "destroy", id, "-e", "dev", "--yes", "-o", "json").stdout)
	if destroy.Status != "succeeded" {
		t.Fatalf("destroy: %s", destroy.Status)
	}
	started, ended := map[string]time.Time{}, map[string]time.Time{}
	for _, e := range events(t, home, id, destroy.ID) {
		if e.Kind != "stack.status" {
			continue
		}
		var p struct{ Status string }
		json.Unmarshal(e.Payload, &p)
		switch p.Status {
		case "destroying":
			started[e.Stack] = e.Time
		case "destroyed":
			ended[e.Stack] = e.Time
		}
	}
	deps := map[string][]string{
		"security": {"network"}, "database": {"network", "security"}, "storage": {"security"},
		"app": {"database", "storage"}, "monitoring": {"app"},
	}
	for stack, ds := range deps {
		for _, d := range ds {
			if ended[stack].IsZero() || started[d].IsZero() {
				t.Fatalf("destroy events missing for %s or %s", stack, d)
			}
			if ended[stack].After(started[d]) {
				t.Errorf("%s was still being destroyed (until %v) when its dependency %s started (%v)", stack, ended[stack], d, started[d])
			}
		}
	}
	for name, s := range stackStatuses(t, home, id) {
		if s != "destroyed" {
			t.Errorf("after destroy, %s is %s", name, s)
		}
	}
	type listJSON = struct {
		ID     string
		Status string
	}
	// Destroyed in dev, but stage and prod still exist (never deployed):
	// list still shows it; only a deployment destroyed everywhere is hidden.
	for _, args := range [][]string{{"list", "-o", "json"}, {"list", "--all", "-o", "json"}} {
		l := items[listJSON](t, mustCloud(t, home, args...).stdout)
		if len(l) != 1 || l[0].Status != "destroyed" {
			t.Errorf("cloud %s = %+v, want the deployment, destroyed", strings.Join(args, " "), l)
		}
	}
}

func TestFailureSkipsDependentsAndResume(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--from-file", "testdata/manifests/probes.yaml")
	r := cloud(t, home, "deploy", "DPROBE1", "-e", "dev")
	if r.code != 1 {
		t.Fatalf("deploy with a failing stack: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "b is broken on purpose") {
		t.Errorf("summary does not name the failure:\n%s", r.stderr)
	}
	st := decode[statusJSON](t, mustCloud(t, home, "status", "DPROBE1", "-o", "json").stdout)
	want := map[string]string{"a": "deployed", "b": "failed", "c": "skipped", "d": "deployed"}
	for _, s := range st.Environments[0].Stacks {
		if s.Status != want[s.Name] {
			t.Errorf("%s = %s, want %s", s.Name, s.Status, want[s.Name])
		}
		if s.Name == "c" && s.Reason != "dependency b failed" {
			t.Errorf("c reason = %q, want %q", s.Reason, "dependency b failed")
		}
		// A failed stack's state says why, as a skipped one's does.
		if s.Name == "b" && !strings.Contains(s.Reason, "b is broken on purpose") {
			t.Errorf("b reason = %q, want the failure's first line", s.Reason)
		}
	}

	// c depends on b only through a placeholder: the graph says so.
	type graphJSON struct {
		Stacks []struct {
			Name         string
			Layer        int
			Dependencies []string
			Implicit     []string
		}
	}
	g := decode[graphJSON](t, mustCloud(t, home, "graph", "DPROBE1", "--format", "json").stdout)
	for _, n := range g.Stacks {
		if n.Name == "c" && (n.Layer != 2 || strings.Join(n.Implicit, ",") != "b") {
			t.Errorf("graph node c = %+v, want layer 2 with implicit dependency b", n)
		}
	}
	if dot := mustCloud(t, home, "graph", "DPROBE1", "--format", "dot").stdout; !strings.Contains(dot, `"b" -> "c" [style=dashed];`) {
		t.Errorf("dot output lacks the dashed implicit edge b -> c:\n%s", dot)
	}

	mustCloud(t, home, "config", "set", "DPROBE1", "stacks.b.config.fail", "false")
	resumed := decode[reportJSON](t, mustCloud(t, home, "deploy", "DPROBE1", "-e", "dev", "--resume", "-o", "json").stdout)
	var ran []string
	for _, s := range resumed.Stacks {
		ran = append(ran, s.Stack+":"+s.Status)
	}
	if got, want := strings.Join(ran, " "), "b:deployed c:deployed"; got != want {
		t.Errorf("resume ran %q, want %q", got, want)
	}
	outs := outputsOf(t, mustCloud(t, home, "outputs", "DPROBE1", "-o", "json").stdout)
	if got, want := outs["c"]["fromB"], "hello"; got != want {
		t.Errorf("c.fromB = %v, want %v (passed a → b → c)", got, want)
	}
	if got, want := outs["d"]["fromA"], "hello world"; got != want {
		t.Errorf("d.fromA = %v, want %v", got, want)
	}
}

func TestKillMidRunMarksInterrupted(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--from-file", "testdata/manifests/slow.yaml")
	cmd := exec.Command(cloudBin, "--home", home, "deploy", "DSLOW01", "-e", "dev")
	cmd.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the slow stack is running, then kill cloud outright.
	var seen []eventJSON
	var opID string
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		r := cloud(t, home, "history", "DSLOW01", "-o", "json")
		var page struct{ Items []struct{ ID string } }
		json.Unmarshal([]byte(r.stdout), &page)
		ops := page.Items
		if len(ops) == 0 {
			continue
		}
		opID = ops[0].ID
		seen = events(t, home, "DSLOW01", opID)
		if slowRunning(seen) {
			break
		}
	}
	if !slowRunning(seen) {
		cmd.Process.Kill()
		t.Fatalf("slow stack never started:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	after := events(t, home, "DSLOW01", opID)
	if len(after) < len(seen) {
		t.Fatalf("events lost: %d before the kill, %d after", len(seen), len(after))
	}
	for i, e := range seen {
		if after[i].Seq != e.Seq || string(after[i].Payload) != string(e.Payload) {
			t.Fatalf("event %d changed after the kill: %+v vs %+v", i, e, after[i])
		}
	}
	ops := items[struct{ ID, Status string }](t, mustCloud(t, home, "history", "DSLOW01", "-o", "json").stdout)
	if ops[0].ID != opID || ops[0].Status != "interrupted" {
		t.Fatalf("killed operation is %+v, want %s interrupted", ops[0], opID)
	}
	if got := stackStatuses(t, home, "DSLOW01")["slow"]; got != "interrupted" {
		t.Errorf("slow stack is %s, want interrupted", got)
	}
	mustCloud(t, home, "config", "set", "DSLOW01", "stacks.slow.config.delaySeconds", "0")
	mustCloud(t, home, "deploy", "DSLOW01", "-e", "dev")
	for name, s := range stackStatuses(t, home, "DSLOW01") {
		if s != "deployed" {
			t.Errorf("after the new deploy, %s is %s", name, s)
		}
	}
}

func slowRunning(evs []eventJSON) bool {
	for _, e := range evs {
		if e.Stack == "slow" && e.Kind == "engine" {
			return true
		}
	}
	return false
}

// TestHangupCancelsCleanly sends SIGHUP (a closed terminal) to a running
// deploy: cloud stops it the way Ctrl-C does, so the operation ends
// cancelled with its summary instead of staying running.
func TestHangupCancelsCleanly(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--from-file", "testdata/manifests/slow.yaml")
	deploy := exec.Command(cloudBin, "--home", home, "--no-color", "deploy", "DSLOW01", "-e", "dev")
	deploy.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
	var out, errb bytes.Buffer
	deploy.Stdout, deploy.Stderr = &out, &errb
	if err := deploy.Start(); err != nil {
		t.Fatal(err)
	}
	defer deploy.Process.Kill()
	opID := waitSlowRunning(t, home, &errb)
	if err := deploy.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- deploy.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("deploy after SIGHUP: %v, want exit code 1\n%s", err, errb.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("deploy did not stop on SIGHUP:\n%s", errb.String())
	}
	ops := items[struct {
		ID, Status string
		Summary    map[string]any
	}](t, mustCloud(t, home, "history", "DSLOW01", "-o", "json").stdout)
	if ops[0].ID != opID || ops[0].Status != "cancelled" {
		t.Fatalf("history shows %s %s, want %s cancelled\n%s", ops[0].ID, ops[0].Status, opID, errb.String())
	}
	if len(ops[0].Summary) == 0 {
		t.Errorf("cancelled operation has no summary: %+v", ops[0])
	}
	if report := out.String() + errb.String(); !strings.Contains(report, "cancelled") {
		t.Errorf("deploy printed no summary saying cancelled:\n%s", report)
	}
	if got := stackStatuses(t, home, "DSLOW01"); got["a"] != "deployed" || got["slow"] == "deploying" || got["c"] != "not_deployed" {
		t.Errorf("stack states after SIGHUP: %v", got)
	}
}

// TestServeStopsOnHangup: `cloud serve` shuts down cleanly on SIGHUP, as
// on SIGINT or SIGTERM.
func TestServeStopsOnHangup(t *testing.T) {
	s := startServe(t, t.TempDir())
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatal("cloud serve did not stop on SIGHUP")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("cloud serve exited %d on SIGHUP, want 0:\n%s", code, s.log())
	}
}

// TestZeroLengthStoreRefused: a cloud.db truncated to nothing beside the
// Pulumi state of deployed stacks is refused with what was found and what
// to do, instead of showing an empty home; an empty home lists [].
func TestZeroLengthStoreRefused(t *testing.T) {
	home := t.TempDir()
	if got := strings.TrimSpace(mustCloud(t, home, "list", "-o", "json").stdout); !emptyList(got) {
		t.Errorf("list -o json of an empty home: %q, want no items", got)
	}
	mustCloud(t, home, "init", "--from-file", "testdata/manifests/slow.yaml")
	mustCloud(t, home, "config", "set", "DSLOW01", "stacks.slow.config.delaySeconds", "0")
	mustCloud(t, home, "deploy", "DSLOW01", "-e", "dev")
	db := filepath.Join(home, "cloud.db")
	for _, p := range []string{db + "-wal", db + "-shm"} {
		os.Remove(p)
	}
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"list", "-o", "json"}, {"status", "DSLOW01"}} {
		r := cloud(t, home, args...)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "cloud.db is empty (0 bytes)") ||
			!strings.Contains(r.stderr, "Pulumi state of 3 stack(s)") || !strings.Contains(r.stderr, "Restore cloud.db from a backup") {
			t.Errorf("cloud %v on a truncated store: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
		}
	}
	if fi, err := os.Stat(db); err != nil || fi.Size() != 0 {
		t.Errorf("the refused store was written: %v", err)
	}
}

// waitSlowRunning waits until the slow stack of DSLOW01 runs its engine and
// returns the operation's id.
func waitSlowRunning(t *testing.T, home string, stderr *bytes.Buffer) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		ops := items[struct{ ID string }](t, mustCloud(t, home, "history", "DSLOW01", "-o", "json").stdout)
		if len(ops) > 0 && slowRunning(events(t, home, "DSLOW01", ops[0].ID)) {
			return ops[0].ID
		}
	}
	t.Fatalf("slow stack never started:\n%s", stderr.String())
	return ""
}

// TestCancelFromAnotherProcess cancels a running deploy with `cloud cancel`
// while `cloud logs --follow` watches it from a third process.
func TestCancelFromAnotherProcess(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--from-file", "testdata/manifests/slow.yaml")
	env := append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
	deploy := exec.Command(cloudBin, "--home", home, "deploy", "DSLOW01", "-e", "dev")
	deploy.Env = env
	var deployErr bytes.Buffer
	deploy.Stderr = &deployErr
	if err := deploy.Start(); err != nil {
		t.Fatal(err)
	}
	defer deploy.Process.Kill()

	var opID string
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && opID == "" {
		time.Sleep(300 * time.Millisecond)
		ops := items[struct{ ID, Status string }](t, mustCloud(t, home, "history", "DSLOW01", "-o", "json").stdout)
		if len(ops) > 0 && slowRunning(events(t, home, "DSLOW01", ops[0].ID)) {
			opID = ops[0].ID
		}
	}
	if opID == "" {
		t.Fatalf("slow stack never started:\n%s", deployErr.String())
	}
	follow := exec.Command(cloudBin, "--home", home, "logs", "DSLOW01", "--operation", opID, "--follow")
	follow.Env = env
	var followOut bytes.Buffer
	follow.Stdout = &followOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer follow.Process.Kill()

	mustCloud(t, home, "cancel", opID)
	err := deploy.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("cancelled deploy: %v, want exit code 1\n%s", err, deployErr.String())
	}
	followDone := make(chan error, 1)
	go func() { followDone <- follow.Wait() }()
	select {
	case err := <-followDone:
		if err != nil {
			t.Errorf("logs --follow: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("logs --follow did not end with the operation")
	}
	if !strings.Contains(followOut.String(), "operation      cancelled") {
		t.Errorf("logs --follow did not show the operation ending cancelled:\n%s", followOut.String())
	}
	ops := items[struct{ ID, Status string }](t, mustCloud(t, home, "history", "DSLOW01", "-o", "json").stdout)
	if ops[0].ID != opID || ops[0].Status != "cancelled" {
		t.Errorf("history shows %+v, want %s cancelled", ops[0], opID)
	}
	// slow was cancelled before its engine changed anything: it is as it
	// was (never deployed), and the environment says nothing failed.
	if got := stackStatuses(t, home, "DSLOW01"); got["a"] != "deployed" || got["slow"] != "not_deployed" || got["c"] != "not_deployed" {
		t.Errorf("stack states after cancel: %v", got)
	}
	cancelled := 0
	for _, e := range events(t, home, "DSLOW01", opID) {
		if e.Stack == "slow" && e.Kind == "stack.status" && strings.Contains(string(e.Payload), `"cancelled"`) {
			cancelled++
		}
	}
	if cancelled != 1 {
		t.Errorf("%d cancelled events for slow, want one", cancelled)
	}
}

// TestListHidesOnlyFullyDestroyed: a deployment whose every environment is
// destroyed is hidden from list (shown by list --all).
func TestListHidesOnlyFullyDestroyed(t *testing.T) {
	home := t.TempDir()
	file := filepath.Join(home, "one.yaml")
	os.WriteFile(file, []byte(`version: 1
deployment_id: DONEENV
organization: acme
project: one
environments:
  dev: { enabled: true, region: eu-west-1 }
stacks:
  a: { program: probe }
`), 0o600)
	mustCloud(t, home, "init", "--from-file", file)
	mustCloud(t, home, "deploy", "DONEENV", "-e", "dev")
	mustCloud(t, home, "destroy", "DONEENV", "-e", "dev", "--yes")
	type listJSON = struct{ Status string }
	if l := items[listJSON](t, mustCloud(t, home, "list", "-o", "json").stdout); len(l) != 0 {
		t.Errorf("list = %+v, want the deployment destroyed everywhere hidden", l)
	}
	if l := items[listJSON](t, mustCloud(t, home, "list", "--all", "-o", "json").stdout); len(l) != 1 || l[0].Status != "destroyed" {
		t.Errorf("list --all = %+v, want it, destroyed", l)
	}
}
