package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/engine/runner"
	"github.com/cloudplatform/cloud/stacks/protocol"
)

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindPulumiOrder(t *testing.T) {
	explicitDir, toolsDir, pathDir := t.TempDir(), t.TempDir(), t.TempDir()
	explicit := script(t, explicitDir, "my-pulumi", "")
	tools := script(t, toolsDir, "pulumi", "")
	onPath := script(t, pathDir, "pulumi", "")
	t.Setenv("PATH", pathDir)

	if got, err := runner.FindPulumi(explicit, toolsDir); err != nil || got != explicit {
		t.Errorf("explicit: %q %v, want %q: an explicit CLI wins over the tools directory", got, err, explicit)
	}
	if _, err := runner.FindPulumi(filepath.Join(explicitDir, "nosuch"), toolsDir); !errors.Is(err, runner.ErrNoPulumi) || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("explicit missing: %v, want ErrNoPulumi naming the path (no fallback to others)", err)
	}
	if got, err := runner.FindPulumi("", filepath.Join(toolsDir, "empty"), toolsDir); err != nil || got != tools {
		t.Errorf("tools dirs: %q %v, want %q", got, err, tools)
	}
	if got, err := runner.FindPulumi("", t.TempDir()); err != nil || got != onPath {
		t.Errorf("PATH: %q %v, want %q", got, err, onPath)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := runner.FindPulumi(""); !errors.Is(err, runner.ErrNoPulumi) || !strings.Contains(err.Error(), "tools/install/pulumi.sh") {
		t.Errorf("nowhere: %v, want ErrNoPulumi saying how to get it", err)
	}
}

func TestLocator(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	inSecond := script(t, second, "network", "")
	if err := os.WriteFile(filepath.Join(first, "network"), []byte("not executable"), 0o644); err != nil {
		t.Fatal(err)
	}
	self := script(t, t.TempDir(), "cloud", "")
	l := &runner.Locator{Dirs: []string{first, second}, Self: self, Builtin: []string{"network", "demo-app"}}

	p, err := l.Find("network")
	if err != nil || p.Path != inSecond || p.Builtin || !strings.HasPrefix(p.Identity, "sha256:") {
		t.Fatalf("Find(network) = %+v, %v: want the executable of the second directory (a non-executable file is skipped, a directory wins over a built-in)", p, err)
	}
	b, err := l.Find("demo-app")
	if err != nil || !b.Builtin || b.Path != self || strings.Join(b.Args, " ") != "stack-runner demo-app" {
		t.Fatalf("Find(demo-app) = %+v, %v: want the built-in run as `cloud stack-runner demo-app`", b, err)
	}
	_, err = l.Find("nosuch")
	for _, want := range []string{`"nosuch"`, first, second, "demo-app", "make stack STACK=nosuch", "register-stack DIR"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Find(nosuch) = %v, want it to mention %q", err, want)
		}
	}

	// Identity follows the content: a rebuilt program (another size, so
	// the cache by size and time cannot hold it) is a new identity.
	before := p.Identity
	script(t, second, "network", "echo rebuilt\n")
	if p, err := l.Find("network"); err != nil || p.Identity == before {
		t.Errorf("after a rebuild: identity %q (was %q), %v: want a new identity", p.Identity, before, err)
	}
	if _, err := l.Find("../network"); err == nil || !strings.Contains(err.Error(), "not an executable file") {
		t.Errorf("Find(../network) = %v, want a path refused unless it is an executable", err)
	}
}

func TestFindProject(t *testing.T) {
	dir := t.TempDir()
	l := &runner.Locator{Self: "/usr/bin/cloud"}
	if _, err := l.FindProject(dir); err == nil || !strings.Contains(err.Error(), "no Pulumi.yaml") {
		t.Errorf("FindProject(empty dir) = %v, want it to say there is no Pulumi.yaml", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: web\nruntime: yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := l.FindProject(dir)
	if err != nil || p.Project != dir || p.Serve != nil || strings.Join(p.Args, " ") != "project-runner "+dir {
		t.Fatalf("FindProject = %+v, %v: want `cloud project-runner DIR`", p, err)
	}
	var gotDir string
	l.ServeProject = func(_ context.Context, dir string, _, _ []string, _ io.Reader, _, _ io.Writer) int {
		gotDir = dir
		return 0
	}
	p, err = l.FindProject(dir)
	if err != nil || p.Serve == nil {
		t.Fatalf("FindProject with ServeProject = %+v, %v: want an in-process program", p, err)
	}
	p.Serve(context.Background(), []string{"run"}, nil, strings.NewReader(""), io.Discard, io.Discard)
	if gotDir != dir {
		t.Errorf("Serve ran for %q, want %q", gotDir, dir)
	}
}

// request is what the runners below are asked to do.
var request = protocol.Request{Operation: protocol.Up, Project: "p", Stack: "s", WorkDir: "/tmp/w"}

func TestRunProcess(t *testing.T) {
	dir := t.TempDir()
	// The runner echoes its request's workDir in an event, prints a line that
	// is not protocol, sees the client's environment, and answers.
	p := runner.Program{Name: "fake", Path: script(t, dir, "fake", `read req
dir=$(echo "$req" | sed 's/.*"workDir":"\([^"]*\)".*/\1/')
echo '{"kind":"event","event":{"type":"diagnostic","message":"workDir '"$dir"'"}}'
echo 'hello from the program'
echo '{"kind":"result","result":{"outputs":{"env":{"value":"'"$CLOUD_TEST_VAR"'"}}}}'
`)}
	c := &runner.Client{Env: []string{"CLOUD_TEST_VAR=from-client"}}
	var got []protocol.Message
	res, err := c.Run(context.Background(), p, request, func(m protocol.Message) { got = append(got, m) })
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Outputs["env"].Value; v != "from-client" {
		t.Errorf("result output env = %v, want the client's environment in the runner's", v)
	}
	if len(got) != 2 || got[0].Event == nil || got[0].Event.Message != "workDir /tmp/w" ||
		got[1].Kind != protocol.KindLog || got[1].Log.Text != "hello from the program" {
		t.Errorf("messages = %+v (event %+v), want the event (with the request's workDir) then the stray line as a log", got, got[0].Event)
	}
}

func TestRunProcessDiesWithoutResult(t *testing.T) {
	dir := t.TempDir()
	p := runner.Program{Name: "crash", Path: script(t, dir, "crash", `echo 'panic: boom' >&2
exit 3
`)}
	_, err := (&runner.Client{}).Run(context.Background(), p, request, nil)
	if err == nil || !strings.Contains(err.Error(), "exited without a result") || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "panic: boom") {
		t.Errorf("err = %v, want it to say the runner exited without a result, how, and its stderr", err)
	}

	// A crash: the signal is named, the headline of a long dump (longer
	// than what is kept of it) is the gist, and its head and tail are kept
	// apart.
	p = runner.Program{Name: "segv", Path: script(t, dir, "segv", `echo 'SIGSEGV: segmentation violation' >&2
i=0; while [ $i -lt 7000 ]; do echo "goroutine $i [running]:" >&2; i=$((i+1)); done
kill -SEGV $$
`)}
	_, err = (&runner.Client{}).Run(context.Background(), p, request, nil)
	var died *runner.DiedError
	if !errors.As(err, &died) {
		t.Fatalf("err = %v, want a *runner.DiedError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "exited with signal 11 (segmentation fault)") || !strings.HasSuffix(msg, "SIGSEGV: segmentation violation") || strings.Contains(msg, "goroutine") {
		t.Errorf("err = %q, want the signal and the dump's headline only", msg)
	}
	if !strings.Contains(died.Stderr, "goroutine 6999 [running]:") || !strings.HasPrefix(died.Stderr, "SIGSEGV:") {
		t.Errorf("the dump is not kept: %d bytes", len(died.Stderr))
	}
}

func TestRunServe(t *testing.T) {
	var gotEnv []string
	p := runner.Program{Name: "inproc", Serve: func(_ context.Context, args, env []string, stdin io.Reader, stdout, _ io.Writer) int {
		gotEnv = env
		var req protocol.Request
		if err := json.NewDecoder(stdin).Decode(&req); err != nil || args[0] != "run" {
			return 2
		}
		enc := json.NewEncoder(stdout)
		enc.Encode(protocol.Message{Kind: protocol.KindLog, Log: &protocol.Log{Level: "info", Text: "running " + req.Stack}})
		enc.Encode(protocol.Message{Kind: protocol.KindResult, Result: &protocol.Result{ResourceCount: 7}})
		return 0
	}}
	c := &runner.Client{Env: []string{"PULUMI_CONFIG_PASSPHRASE=x"}}
	var logs []string
	res, err := c.Run(context.Background(), p, request, func(m protocol.Message) { logs = append(logs, m.Log.Text) })
	if err != nil || res.ResourceCount != 7 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if strings.Join(logs, ",") != "running s" || strings.Join(gotEnv, ",") != "PULUMI_CONFIG_PASSPHRASE=x" {
		t.Errorf("logs %v, env %v: want the server's log and the client's environment", logs, gotEnv)
	}

	p.Serve = func(context.Context, []string, []string, io.Reader, io.Writer, io.Writer) int { panic("in the server") }
	if _, err := c.Run(context.Background(), p, request, nil); err == nil || !strings.Contains(err.Error(), "panic: in the server") {
		t.Errorf("a panicking server: %v, want a runner that died without a result, not a crash of cloud", err)
	}
	p.Serve = func(_ context.Context, _, _ []string, _ io.Reader, _, stderr io.Writer) int {
		fmt.Fprintln(stderr, "bad request")
		return 2
	}
	if _, err := c.Run(context.Background(), p, request, nil); err == nil || !strings.Contains(err.Error(), "exit status 2: bad request") {
		t.Errorf("a server answering no result: %v, want its exit code and stderr", err)
	}
}

// TestRunnerDiesWithCloud kills a process that started a runner (as cloud
// does) and checks the runner is told to stop: it must not run on with
// nobody recording what it does.
func TestRunnerDiesWithCloud(t *testing.T) {
	if os.Getenv("CLOUD_RUNNER_TEST_PARENT") != "" {
		// The child: start a runner that reports its PID, then wait to be killed.
		p := runner.Program{Name: "sleeper", Path: os.Getenv("CLOUD_RUNNER_TEST_PARENT")}
		_, _ = (&runner.Client{}).Run(context.Background(), p, request, nil)
		return
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	sleeper := script(t, dir, "sleeper", fmt.Sprintf(`trap 'echo term > %s.signal; exit 0' TERM
echo $$ > %s
while :; do sleep 0.05; done
`, pidFile, pidFile))
	parent := exec.Command(os.Args[0], "-test.run", "^TestRunnerDiesWithCloud$")
	parent.Env = append(os.Environ(), "CLOUD_RUNNER_TEST_PARENT="+sleeper)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	pid := waitFile(t, pidFile)
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	if got := strings.TrimSpace(readFileWait(t, pidFile+".signal")); got != "term" {
		t.Errorf("runner %d got %q, want SIGTERM when its parent died", pid, got)
	}
}

// waitFile waits for a file holding a PID; the deadline only catches a hang.
func waitFile(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFileWait(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func readFileWait(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never written", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
