package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/stacks/examples"
	"github.com/urfave/cli/v2"
)

// More commands tested twice, as in commands_internal_test.go: argv →
// options through runF, and options → output with buffers against a real
// store.

// testApp is the app over a store in a temporary home holding one
// deployment of the demo template (never deployed), created at fixedNow.
func testApp(t *testing.T) (*app.App, string) {
	t.Helper()
	a, err := app.Open(context.Background(), app.Config{Home: t.TempDir(), Builtin: examples.Names(),
		Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	d, err := a.Init(context.Background(), app.InitRequest{Organization: "acme", Project: "shop", Domain: "shop.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return a, d.ID
}

// wantUsage checks that err is a usage error (exit 2) and that the run
// function was never called.
func wantUsage[T any](t *testing.T, what string, argv []string, err error, got *T) {
	t.Helper()
	if code := exitCode(err); code != 2 || got != nil {
		t.Errorf("%s %v: exit %d (%v), ran with %+v; want a usage error", what, argv, code, err, got)
	}
}

func TestLogsCommand_Options(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want *logsOptions // nil: a usage error
	}{
		{[]string{"D1BRV40"}, &logsOptions{ID: "D1BRV40"}},
		{[]string{"D1BRV40", "-e", "dev", "--stack", "app", "-n", "20"}, &logsOptions{ID: "D1BRV40", Env: "dev", Stack: "app", Tail: 20}},
		{[]string{"--operation", "op-1", "-f", "D1BRV40"}, &logsOptions{ID: "D1BRV40", Operation: "op-1", Follow: true}},
		{[]string{"D1BRV40", "--tail", "-1"}, nil},
		{[]string{"D1BRV40", "--tail", "x"}, nil},
		{[]string{}, nil},
		{[]string{"D1", "D2"}, nil},
		{[]string{"D1BRV40", "--no-such-flag"}, nil},
	} {
		var got *logsOptions
		err := parse(t, logsCommand(&env{}, capture(&got)), tc.argv...)
		if tc.want == nil {
			wantUsage(t, "logs", tc.argv, err, got)
			continue
		}
		if err != nil || got == nil {
			t.Fatalf("logs %v: %v", tc.argv, err)
		}
		if got.Client == nil {
			t.Errorf("logs %v: no client", tc.argv)
		}
		got.Client = nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("logs %v: options %+v, want %+v", tc.argv, got, tc.want)
		}
	}
}

// TestLogsRun: a manual lock is an operation with events; logs prints
// them one a line (coloured on a terminal only), -o json one document a
// line; a deployment never run has no operation, and a stack or an
// operation of another deployment is refused.
func TestLogsRun(t *testing.T) {
	a, id := testApp(t)
	ctx := context.Background()
	op, err := a.Lock(ctx, id, "dev", "freeze")
	if err != nil {
		t.Fatal(err)
	}
	cl := client.NewLocal(a)
	get := func() (client.Client, error) { return cl, nil }
	for _, tty := range []bool{false, true} {
		e, out, _ := testEnv(tty, "table")
		if err := e.logsRun(ctx, &logsOptions{Client: get, ID: id, Env: "dev"}); err != nil {
			t.Fatal(err)
		}
		if want := human.Clock(fixedNow) + "     1 operation      running\n"; ansi.Strip(out.String()) != want {
			t.Errorf("tty %v: logs of the lock:\n%q\nwant %q", tty, out, want)
		}
		if got := strings.Contains(out.String(), "\x1b["); got != tty {
			t.Errorf("tty %v: colour %v:\n%q", tty, got, out)
		}
	}
	e, out, _ := testEnv(false, "json")
	if err := e.logsRun(ctx, &logsOptions{Client: get, ID: id, Operation: op.ID, Tail: 1}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var ev map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &ev) != nil {
		t.Errorf("logs --tail 1 -o json: want one JSON line, got\n%s", out)
	}
	e, _, _ = testEnv(false, "table")
	if err := e.logsRun(ctx, &logsOptions{Client: get, ID: id, Env: "prod"}); exitCode(err) == 0 {
		t.Errorf("logs of an environment never run: no error")
	}
	if err := e.logsRun(ctx, &logsOptions{Client: get, ID: id, Env: "dev", Stack: "nosuch"}); exitCode(err) != 2 {
		t.Errorf("logs --stack nosuch: exit %d (%v), want 2", exitCode(err), err)
	}
	if err := e.logsRun(ctx, &logsOptions{Client: get, ID: "D0THER0", Operation: op.ID}); exitCode(err) != 2 || !strings.Contains(err.Error(), "belongs to deployment "+id) {
		t.Errorf("logs of another deployment's operation: exit %d (%v), want 2", exitCode(err), err)
	}
}

func TestLockCommands_Options(t *testing.T) {
	var lock *lockOptions
	if err := parse(t, lockCommand(&env{}, capture(&lock)), "D1BRV40", "-e", "prod", "--reason", "freeze"); err != nil {
		t.Fatal(err)
	}
	if lock.App == nil || lock.Now == nil {
		t.Errorf("lock: no app or clock")
	}
	lock.App, lock.Now = nil, nil
	if want := (&lockOptions{ID: "D1BRV40", Env: "prod", Reason: "freeze"}); !reflect.DeepEqual(lock, want) {
		t.Errorf("lock options %+v, want %+v", lock, want)
	}
	lock = nil
	if err := parse(t, lockCommand(&env{}, capture(&lock)), "--status", "D1BRV40"); err != nil || !lock.Status || lock.Env != "dev" {
		t.Errorf("lock --status: %v, %+v", err, lock)
	}
	for _, bad := range [][]string{{}, {"D1", "D2"}, {"D1", "--no-such-flag"}} {
		lock = nil
		wantUsage(t, "lock", bad, parse(t, lockCommand(&env{}, capture(&lock)), bad...), lock)
	}

	var st *lockStatusOptions
	if err := parse(t, lockStatusCommand(&env{}, capture(&st)), "D1BRV40", "-e", "stage"); err != nil {
		t.Fatal(err)
	}
	if st.App == nil || st.Now == nil || st.ID != "D1BRV40" || st.Env != "stage" || !st.Team {
		t.Errorf("lock status options %+v", st)
	}
	for _, bad := range [][]string{{}, {"D1", "D2"}, {"D1", "--reason", "x"}} {
		st = nil
		wantUsage(t, "lock status", bad, parse(t, lockStatusCommand(&env{}, capture(&st)), bad...), st)
	}

	var un *unlockOptions
	if err := parse(t, unlockCommand(&env{}, capture(&un)), "D1BRV40", "-e", "prod", "--force", "--engine", "database"); err != nil {
		t.Fatal(err)
	}
	if un.App == nil {
		t.Errorf("unlock: no app")
	}
	un.App = nil
	if want := (&unlockOptions{ID: "D1BRV40", Env: "prod", Force: true, Engine: "database"}); !reflect.DeepEqual(un, want) {
		t.Errorf("unlock options %+v, want %+v", un, want)
	}
	for _, bad := range [][]string{{}, {"D1", "D2"}, {"D1", "--engine"}, {"D1", "--force=maybe"}} {
		un = nil
		wantUsage(t, "unlock", bad, parse(t, unlockCommand(&env{}, capture(&un)), bad...), un)
	}
}

// TestLockRun: lock, its status (local and team, table and JSON), and
// unlock, against a real store; --engine without --yes and no terminal is
// refused before anything is cleared.
func TestLockRun(t *testing.T) {
	a, id := testApp(t)
	ctx := context.Background()
	open := func() (*app.App, error) { return a, nil }
	now := func() time.Time { return fixedNow }

	e, out, _ := testEnv(false, "table")
	if err := e.lockStatusRun(ctx, &lockStatusOptions{App: open, Now: now, ID: id, Env: "prod", Team: true}); err != nil {
		t.Fatal(err)
	}
	if want := "team lock: none (sync is not configured, or offline)\nprod of " + id + " is free\n"; out.String() != want {
		t.Errorf("lock status of a free environment:\n%q\nwant %q", out, want)
	}

	e, out, errb := testEnv(true, "table")
	if err := e.lockRun(ctx, &lockOptions{App: open, Now: now, ID: id, Env: "prod", Reason: "release freeze"}); err != nil {
		t.Fatal(err)
	}
	if got := errb.String(); !strings.HasPrefix(got, "locked prod of "+id+" (op-") || !strings.HasSuffix(got, "); release it with: cloud unlock "+id+" -e prod\n") || out.Len() != 0 {
		t.Errorf("lock: stdout %q, stderr %q", out, got)
	}
	holder, err := a.LockStatus(ctx, id, "prod")
	if err != nil || holder == nil {
		t.Fatalf("after lock: %v, %v", holder, err)
	}

	for _, tty := range []bool{false, true} {
		e, out, _ = testEnv(tty, "table")
		if err := e.lockRun(ctx, &lockOptions{App: open, Now: now, ID: id, Env: "prod", Status: true}); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("prod of %s is held by %s %s of %s on %s since %s: release freeze\n", id, holder.Kind, holder.ID,
			holder.Actor, holder.Host, human.DateTime(holder.StartedAt))
		if out.String() != want {
			t.Errorf("tty %v: lock --status:\n%q\nwant %q", tty, out, want)
		}
	}
	e, out, _ = testEnv(false, "json")
	if err := e.lockStatusRun(ctx, &lockStatusOptions{App: open, Now: now, ID: id, Env: "prod", Team: true}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Locked bool
		Holder struct{ ID string }
		Team   struct{ Configured, Free bool }
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || !doc.Locked || doc.Holder.ID != holder.ID || doc.Team.Configured || !doc.Team.Free {
		t.Errorf("lock status -o json (%v):\n%s", err, out)
	}

	e, _, _ = testEnv(false, "table")
	if err := e.unlockRun(ctx, &unlockOptions{App: open, ID: id, Env: "prod", Engine: "database"}); exitCode(err) != 2 || !strings.Contains(err.Error(), "Refusing without --yes") {
		t.Errorf("unlock --engine without --yes: exit %d (%v)", exitCode(err), err)
	}
	e, out, errb = testEnv(false, "table")
	if err := e.unlockRun(ctx, &unlockOptions{App: open, ID: id, Env: "prod"}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("released %s (%s of %s)\n", holder.ID, holder.Kind, holder.Actor); errb.String() != want || out.Len() != 0 {
		t.Errorf("unlock: stdout %q, stderr %q, want %q", out, errb, want)
	}
	if err := e.unlockRun(ctx, &unlockOptions{App: open, ID: id, Env: "prod"}); exitCode(err) == 0 {
		t.Errorf("unlock of a free environment: no error")
	}
}

func TestEnvironmentCommands_Options(t *testing.T) {
	for _, tc := range []struct {
		enable bool
		argv   []string
		want   *setEnvironmentOptions // nil: a usage error
	}{
		{true, []string{"D1BRV40", "prod"}, &setEnvironmentOptions{Command: "enable-environment", ID: "D1BRV40", Env: "prod", Enabled: true}},
		{true, []string{"D1BRV40", "dev", "--stacks", "monitoring,app"}, &setEnvironmentOptions{Command: "enable-environment", ID: "D1BRV40", Env: "dev", Enabled: true, Stacks: []string{"monitoring", "app"}}},
		{false, []string{"D1BRV40", "stage"}, &setEnvironmentOptions{Command: "disable-environment", ID: "D1BRV40", Env: "stage", Parallel: 4}},
		{false, []string{"--destroy", "-p", "2", "D1BRV40", "stage"}, &setEnvironmentOptions{Command: "disable-environment", ID: "D1BRV40", Env: "stage", Destroy: true, Parallel: 2}},
		{true, []string{"D1BRV40"}, nil},
		{true, []string{"D1BRV40", "prod", "--destroy"}, nil},
		{false, []string{"D1BRV40", "stage", "extra"}, nil},
		{false, []string{"D1BRV40", "stage", "-p", "x"}, nil},
	} {
		var got *setEnvironmentOptions
		cmd := disableEnvironmentCommand(&env{}, capture(&got))
		if tc.enable {
			cmd = enableEnvironmentCommand(&env{}, capture(&got))
		}
		err := parse(t, cmd, tc.argv...)
		if tc.want == nil {
			wantUsage(t, cmd.Name, tc.argv, err, got)
			continue
		}
		if err != nil || got == nil {
			t.Fatalf("%s %v: %v", cmd.Name, tc.argv, err)
		}
		if got.App == nil {
			t.Errorf("%s %v: no app", cmd.Name, tc.argv)
		}
		got.App = nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v: options %+v, want %+v", cmd.Name, tc.argv, got, tc.want)
		}
	}
	var list *listEnvironmentsOptions
	if err := parse(t, listEnvironmentsCommand(&env{}, capture(&list)), "D1BRV40"); err != nil || list.App == nil || list.ID != "D1BRV40" {
		t.Errorf("list-environments D1BRV40: %v, %+v", err, list)
	}
	for _, bad := range [][]string{{}, {"D1", "D2"}, {"D1", "--all"}} {
		list = nil
		wantUsage(t, "list-environments", bad, parse(t, listEnvironmentsCommand(&env{}, capture(&list)), bad...), list)
	}
}

// TestEnvironmentsRun: disable and enable an environment without a
// destroy (no engine), and the environments listed as a table (coloured
// on a terminal only) and as JSON; a destroy is not done without --yes
// off a terminal.
func TestEnvironmentsRun(t *testing.T) {
	a, id := testApp(t)
	ctx := context.Background()
	open := func() (*app.App, error) { return a, nil }

	e, out, errb := testEnv(false, "table")
	if err := e.setEnvironmentRun(ctx, &setEnvironmentOptions{App: open, Command: "disable-environment", ID: id, Env: "stage", Parallel: 4}); err != nil {
		t.Fatal(err)
	}
	if want := "environment stage disabled (revision 2)\n"; errb.String() != want || out.Len() != 0 {
		t.Errorf("disable-environment: stdout %q, stderr %q, want %q", out, errb, want)
	}
	e, _, errb = testEnv(false, "table")
	if err := e.setEnvironmentRun(ctx, &setEnvironmentOptions{App: open, Command: "enable-environment", ID: id, Env: "dev", Enabled: true, Stacks: []string{"monitoring"}}); err != nil {
		t.Fatal(err)
	}
	if want := "stacks [monitoring] in dev enabled (revision 3)\n"; errb.String() != want {
		t.Errorf("enable-environment --stacks: stderr %q, want %q", errb, want)
	}
	e, _, _ = testEnv(false, "table")
	if err := e.setEnvironmentRun(ctx, &setEnvironmentOptions{App: open, Command: "disable-environment", ID: id, Env: "prod", Destroy: true, Parallel: 4}); exitCode(err) != 2 || !strings.Contains(err.Error(), "Refusing without --yes") {
		t.Errorf("disable-environment --destroy without --yes: exit %d (%v)", exitCode(err), err)
	}

	for _, tty := range []bool{false, true} {
		e, out, _ := testEnv(tty, "table")
		if err := e.listEnvironmentsRun(ctx, &listEnvironmentsOptions{App: open, ID: id}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(out.String(), "\x1b["); got != tty {
			t.Errorf("tty %v: colour %v:\n%q", tty, got, out)
		}
		lines := strings.Split(strings.TrimSpace(ansi.Strip(out.String())), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "ENVIRONMENT  ENABLED  REGION") {
			t.Fatalf("tty %v: list-environments:\n%s", tty, out)
		}
		for i, want := range []string{"dev ", "stage ", "prod "} {
			if !strings.HasPrefix(lines[i+1], want) {
				t.Errorf("tty %v: line %d %q, want %q first", tty, i+1, lines[i+1], want)
			}
		}
		if f := strings.Fields(lines[2]); len(f) < 2 || f[1] != "false" {
			t.Errorf("tty %v: stage not shown disabled: %q", tty, lines[2])
		}
	}
	e, out, _ = testEnv(false, "json")
	if err := e.listEnvironmentsRun(ctx, &listEnvironmentsOptions{App: open, ID: id}); err != nil {
		t.Fatal(err)
	}
	envs, err := client.NewLocal(a).Documents().Environments(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(envs, "", "  ")
	if got := strings.TrimSpace(out.String()); got != string(want) {
		t.Errorf("list-environments -o json:\n%s\nwant:\n%s", got, want)
	}
	if err := e.listEnvironmentsRun(ctx, &listEnvironmentsOptions{App: open, ID: "D0THER0"}); exitCode(err) == 0 {
		t.Errorf("list-environments of an unknown deployment: no error")
	}
}

func TestGraphCommand_Options(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want *graphOptions // nil: a usage error
	}{
		{[]string{"D1BRV40"}, &graphOptions{ID: "D1BRV40", Env: "dev", Format: "text"}},
		{[]string{"D1BRV40", "-e", "prod", "--format", "dot"}, &graphOptions{ID: "D1BRV40", Env: "prod", Format: "dot"}},
		{[]string{"--format", "json", "D1BRV40"}, &graphOptions{ID: "D1BRV40", Env: "dev", Format: "json"}},
		{[]string{"D1BRV40", "--format", "svg"}, nil},
		{[]string{}, nil},
		{[]string{"D1", "D2"}, nil},
	} {
		var got *graphOptions
		err := parse(t, graphCommand(&env{}, capture(&got)), tc.argv...)
		if tc.want == nil {
			wantUsage(t, "graph", tc.argv, err, got)
			continue
		}
		if err != nil || got == nil {
			t.Fatalf("graph %v: %v", tc.argv, err)
		}
		if got.App == nil {
			t.Errorf("graph %v: no app", tc.argv)
		}
		got.App = nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("graph %v: options %+v, want %+v", tc.argv, got, tc.want)
		}
	}
}

// TestGraphRun: the demo's graph by layer as text (the same on a terminal
// and not), as DOT and as JSON, whatever -o says.
func TestGraphRun(t *testing.T) {
	a, id := testApp(t)
	ctx := context.Background()
	open := func() (*app.App, error) { return a, nil }
	p, err := a.Plan(ctx, id, "dev")
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for i, layer := range p.Graph.LayerList() {
		text = append(text, fmt.Sprintf("layer %d", i))
		for _, n := range layer {
			if deps := p.Graph.Dependencies(n); len(deps) > 0 {
				text = append(text, "  "+n+" <- "+strings.Join(deps, ", "))
			} else {
				text = append(text, "  "+n)
			}
		}
	}
	for _, tty := range []bool{false, true} {
		e, out, _ := testEnv(tty, "table")
		if err := e.graphRun(ctx, &graphOptions{App: open, ID: id, Env: "dev", Format: "text"}); err != nil {
			t.Fatal(err)
		}
		if want := strings.Join(text, "\n") + "\n"; out.String() != want || !strings.HasPrefix(want, "layer 0\n  network\n") {
			t.Errorf("tty %v: graph:\n%s\nwant:\n%s", tty, out, want)
		}
	}
	e, out, _ := testEnv(false, "table")
	if err := e.graphRun(ctx, &graphOptions{App: open, ID: id, Env: "dev", Format: "dot"}); err != nil {
		t.Fatal(err)
	}
	dot := out.String()
	if !strings.HasPrefix(dot, fmt.Sprintf("digraph %q {\n  rankdir=LR;\n  node [shape=box];\n  { rank=same; /* layer 0 */ \"network\";", id+"-dev")) ||
		!strings.HasSuffix(dot, ";\n}\n") || !strings.Contains(dot, ` -> "`) {
		t.Errorf("graph --format dot:\n%s", dot)
	}
	e, out, _ = testEnv(false, "yaml")
	if err := e.graphRun(ctx, &graphOptions{App: open, ID: id, Env: "dev", Format: "json"}); err != nil {
		t.Fatal(err)
	}
	var g struct {
		DeploymentID string `json:"deploymentId"`
		Environment  string `json:"environment"`
		Stacks       []struct {
			Name         string
			Layer        int
			Dependencies []string
		} `json:"stacks"`
	}
	if err := json.Unmarshal(out.Bytes(), &g); err != nil || g.DeploymentID != id || g.Environment != "dev" || len(g.Stacks) != len(p.Graph.Order()) {
		t.Errorf("graph --format json (%v):\n%s", err, out)
	}
	if err := e.graphRun(ctx, &graphOptions{App: open, ID: id, Env: "nosuch", Format: "text"}); exitCode(err) != 2 {
		t.Errorf("graph -e nosuch: exit %d (%v), want 2", exitCode(err), err)
	}
}

func TestInitCommand_Options(t *testing.T) {
	none := map[string]string{"dev": "", "stage": "", "prod": ""}
	for _, tc := range []struct {
		argv []string
		want *initOptions // nil: a usage error
	}{
		{[]string{}, &initOptions{Template: "demo", Region: "us-east-1", Accounts: none}},
		{[]string{"--org", "acme", "--project", "shop", "--domain", "shop.example.com", "--id", "DSHOP01", "--template", "small",
			"--region", "eu-west-1", "--account-prod", "123456789012"},
			&initOptions{ID: "DSHOP01", Organization: "acme", Project: "shop", Domain: "shop.example.com", Template: "small", Region: "eu-west-1",
				Accounts: map[string]string{"dev": "", "stage": "", "prod": "123456789012"}}},
		{[]string{"-f", "deployment-manifest.yaml"}, &initOptions{Template: "demo", Region: "us-east-1", Accounts: none, FromFile: "deployment-manifest.yaml"}},
		{[]string{"--from-file", "m.yaml", "--org", "acme"}, nil},
		{[]string{"--from-file", "m.yaml", "--template", "demo"}, nil},
		{[]string{"--from-file", "m.yaml", "--account-dev", "1"}, nil},
		{[]string{"--org"}, nil},
		{[]string{"--no-such-flag"}, nil},
	} {
		var got *initOptions
		err := parse(t, initCommand(&env{}, capture(&got)), tc.argv...)
		if tc.want == nil {
			wantUsage(t, "init", tc.argv, err, got)
			continue
		}
		if err != nil || got == nil {
			t.Fatalf("init %v: %v", tc.argv, err)
		}
		if got.App == nil {
			t.Errorf("init %v: no app", tc.argv)
		}
		got.App = nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("init %v: options %+v, want %+v", tc.argv, got, tc.want)
		}
	}
}

// TestInitRun: init prints the new deployment's ID on stdout (its document
// with -o json) and what to do next on stderr; a missing manifest file and
// a taken ID are errors.
func TestInitRun(t *testing.T) {
	a, id := testApp(t)
	ctx := context.Background()
	open := func() (*app.App, error) { return a, nil }
	opts := func(newID string) *initOptions {
		return &initOptions{App: open, ID: newID, Organization: "acme", Project: "blog", Template: "demo", Region: "us-east-1",
			Accounts: map[string]string{"dev": "", "stage": "", "prod": ""}}
	}
	for _, tty := range []bool{false, true} {
		newID := "DTTYNO1"
		if tty {
			newID = "DTTYYE1"
		}
		e, out, errb := testEnv(tty, "table")
		if err := e.initRun(ctx, opts(newID)); err != nil {
			t.Fatal(err)
		}
		if out.String() != newID+"\n" || errb.String() != "created deployment "+newID+" (acme/blog); next: cloud deploy "+newID+" -e dev\n" {
			t.Errorf("tty %v: init: stdout %q, stderr %q", tty, out, errb)
		}
	}
	e, out, _ := testEnv(false, "json")
	if err := e.initRun(ctx, opts("DJSON01")); err != nil {
		t.Fatal(err)
	}
	var d struct{ ID, Organization, Project string }
	if err := json.Unmarshal(out.Bytes(), &d); err != nil || d.ID != "DJSON01" || d.Organization != "acme" || d.Project != "blog" {
		t.Errorf("init -o json (%v):\n%s", err, out)
	}
	e, out, _ = testEnv(false, "table")
	if err := e.initRun(ctx, opts(id)); exitCode(err) == 0 || out.Len() != 0 {
		t.Errorf("init --id %s (taken): exit %d (%v), stdout %q", id, exitCode(err), err, out)
	}
	o := opts("")
	o.FromFile = t.TempDir() + "/missing.yaml"
	if err := e.initRun(ctx, o); exitCode(err) == 0 || out.Len() != 0 {
		t.Errorf("init --from-file missing.yaml: exit %d (%v), stdout %q", exitCode(err), err, out)
	}
}

func TestTemplateCommands_Options(t *testing.T) {
	var list *listTemplatesOptions
	if err := parse(t, listTemplatesCommand(&env{}, capture(&list))); err != nil || list == nil || list.App == nil {
		t.Errorf("list-templates: %v, %+v", err, list)
	}
	list = nil
	wantUsage(t, "list-templates", []string{"--all"}, parse(t, listTemplatesCommand(&env{}, capture(&list)), "--all"), list)

	for _, cmd := range []func(*env, func(context.Context, *templateOptions) error) *cli.Command{showTemplateCommand, validateTemplateCommand} {
		var got *templateOptions
		c := cmd(&env{}, capture(&got))
		if err := parse(t, c, "demo"); err != nil || got == nil || got.App == nil || got.Name != "demo" {
			t.Errorf("%s demo: %v, %+v", c.Name, err, got)
		}
		for _, bad := range [][]string{{}, {"demo", "small"}, {"demo", "--file", "x"}} {
			got = nil
			c := cmd(&env{}, capture(&got))
			wantUsage(t, c.Name, bad, parse(t, c, bad...), got)
		}
	}

	var create *createTemplateOptions
	if err := parse(t, createTemplateCommand(&env{}, capture(&create)), "shop", "--from-deployment", "D1BRV40", "--description", "our shop"); err != nil {
		t.Fatal(err)
	}
	if create.App == nil {
		t.Errorf("create-template: no app")
	}
	create.App = nil
	if want := (&createTemplateOptions{Name: "shop", Description: "our shop", FromDeployment: "D1BRV40"}); !reflect.DeepEqual(create, want) {
		t.Errorf("create-template options %+v, want %+v", create, want)
	}
	for _, bad := range [][]string{{}, {"a", "b"}, {"shop", "--from-template"}} {
		create = nil
		wantUsage(t, "create-template", bad, parse(t, createTemplateCommand(&env{}, capture(&create)), bad...), create)
	}

	var update *updateTemplateOptions
	if err := parse(t, updateTemplateCommand(&env{}, capture(&update)), "shop", "-f", "patch.yaml"); err != nil || update.App == nil || update.Name != "shop" || update.File != "patch.yaml" {
		t.Errorf("update-template shop -f patch.yaml: %v, %+v", err, update)
	}
	for _, bad := range [][]string{{"-f", "patch.yaml"}, {"a", "b", "-f", "p.yaml"}} {
		update = nil
		wantUsage(t, "update-template", bad, parse(t, updateTemplateCommand(&env{}, capture(&update)), bad...), update)
	}
	// A missing required flag stops the command before Action; parse
	// does not apply setFlagErrors, so this is urfave/cli's own error
	// (TestRequiredFlag_IsUsageError checks the CLI's usage error).
	update = nil
	if err := parse(t, updateTemplateCommand(&env{}, capture(&update)), "shop"); err == nil || !strings.Contains(err.Error(), `Required flag "file" not set`) || update != nil {
		t.Errorf("update-template without --file: %v, ran with %+v", err, update)
	}
}

// TestTemplatesRun: the templates listed (table and JSON, the same on a
// terminal and not), one shown, copied, patched and validated against a
// real store.
func TestTemplatesRun(t *testing.T) {
	a, _ := testApp(t)
	ctx := context.Background()
	open := func() (*app.App, error) { return a, nil }
	for _, tty := range []bool{false, true} {
		e, out, _ := testEnv(tty, "table")
		if err := e.listTemplatesRun(ctx, &listTemplatesOptions{App: open}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 5 || !strings.HasPrefix(lines[0], "TEMPLATE  BUILT IN  STACKS") || !strings.Contains(out.String(), "\ndemo ") || strings.Contains(out.String(), "\x1b[") {
			t.Errorf("tty %v: list-templates:\n%s", tty, out)
		}
		// A row fits a terminal: the stacks counted, the description cut.
		for _, l := range lines {
			if w := ansi.StringWidth(l); w > 100 {
				t.Errorf("tty %v: list-templates prints a %d-column line:\n%s", tty, w, l)
			}
		}
		if !regexp.MustCompile(`(?m)^default +true +16 +The AWS stack library.*…$`).MatchString(out.String()) {
			t.Errorf("tty %v: list-templates does not count default's 16 stacks and cut its description:\n%s", tty, out)
		}
	}
	e, out, _ := testEnv(false, "json")
	if err := e.listTemplatesRun(ctx, &listTemplatesOptions{App: open}); err != nil {
		t.Fatal(err)
	}
	ts, err := client.NewLocal(a).Documents().Templates(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(ts, "", "  ")
	if got := strings.TrimSpace(out.String()); got != string(want) {
		t.Errorf("list-templates -o json:\n%s\nwant:\n%s", got, want)
	}

	e, out, _ = testEnv(false, "table")
	if err := e.showTemplateRun(ctx, &templateOptions{App: open, Name: "demo"}); err != nil {
		t.Fatal(err)
	}
	demo, err := a.Template(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != demo.Body || !strings.Contains(out.String(), "vpcId: ${network.vpcId}") {
		t.Errorf("show-template demo:\n%s", out)
	}
	if err := e.showTemplateRun(ctx, &templateOptions{App: open, Name: "nosuch"}); exitCode(err) != 1 {
		t.Errorf("show-template nosuch: exit %d (%v), want 1", exitCode(err), err)
	}

	e, out, errb := testEnv(false, "table")
	if err := e.createTemplateRun(ctx, &createTemplateOptions{App: open, Name: "shop", FromTemplate: "demo", Description: "our shop"}); err != nil {
		t.Fatal(err)
	}
	if errb.String() != "created template shop\n" || out.Len() != 0 {
		t.Errorf("create-template: stdout %q, stderr %q", out, errb)
	}
	if err := e.createTemplateRun(ctx, &createTemplateOptions{App: open, Name: "shop", FromTemplate: "demo"}); exitCode(err) != 2 {
		t.Errorf("create-template of an existing one: exit %d (%v), want 2", exitCode(err), err)
	}
	patch := t.TempDir() + "/patch.yaml"
	if err := os.WriteFile(patch, []byte("stacks:\n  app:\n    config:\n      replicas: many\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, _, errb = testEnv(false, "table")
	if err := e.updateTemplateRun(ctx, &updateTemplateOptions{App: open, Name: "shop", File: patch}); err != nil || errb.String() != "updated template shop\n" {
		t.Errorf("update-template: %v, stderr %q", err, errb)
	}
	if err := e.updateTemplateRun(ctx, &updateTemplateOptions{App: open, Name: "demo", File: patch}); exitCode(err) != 2 {
		t.Errorf("update-template of a built-in one: exit %d (%v), want 2", exitCode(err), err)
	}

	// What validation finds depends on the stack programs this process
	// can see: the output is compared with the core's findings.
	v, err := a.ValidateTemplate(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range v.Findings {
		lines = append(lines, f.String()+"\n")
	}
	if len(lines) == 0 {
		lines = []string{"template shop is valid\n"}
	}
	wantCode := 0
	if v.Errors() > 0 {
		wantCode = 1
	}
	e, out, _ = testEnv(false, "table")
	if err := e.validateTemplateRun(ctx, &templateOptions{App: open, Name: "shop"}); exitCode(err) != wantCode || out.String() != strings.Join(lines, "") {
		t.Errorf("validate-template shop: exit %d (%v), want %d:\n%s\nwant:\n%s", exitCode(err), err, wantCode, out, strings.Join(lines, ""))
	}
	e, out, _ = testEnv(false, "json")
	if err := e.validateTemplateRun(ctx, &templateOptions{App: open, Name: "shop"}); exitCode(err) != wantCode {
		t.Errorf("validate-template shop -o json: exit %d (%v), want %d", exitCode(err), err, wantCode)
	}
	var doc struct{ Findings []any }
	if json.Unmarshal(out.Bytes(), &doc) != nil || len(doc.Findings) != len(v.Findings) {
		t.Errorf("validate-template -o json: not the document with %d findings:\n%s", len(v.Findings), out)
	}
	if err := e.validateTemplateRun(ctx, &templateOptions{App: open, Name: "nosuch"}); exitCode(err) != 1 || !strings.Contains(err.Error(), "not found") {
		t.Errorf("validate-template nosuch: exit %d (%v), want 1", exitCode(err), err)
	}
}

func TestDeleteCommands_Options(t *testing.T) {
	var del *deleteOptions
	if err := parse(t, deleteCommand(&env{}, capture(&del)), "--force", "D1BRV40"); err != nil || del.App == nil || del.ID != "D1BRV40" || !del.Force {
		t.Errorf("delete --force D1BRV40: %v, %+v", err, del)
	}
	for _, bad := range [][]string{{}, {"D1", "D2"}, {"D1", "--force=maybe"}} {
		del = nil
		wantUsage(t, "delete", bad, parse(t, deleteCommand(&env{}, capture(&del)), bad...), del)
	}
	var tmpl *templateOptions
	if err := parse(t, deleteTemplateCommand(&env{}, capture(&tmpl)), "shop"); err != nil || tmpl.App == nil || tmpl.Name != "shop" {
		t.Errorf("delete-template shop: %v, %+v", err, tmpl)
	}
	for _, bad := range [][]string{{}, {"a", "b"}, {"shop", "--force"}} {
		tmpl = nil
		wantUsage(t, "delete-template", bad, parse(t, deleteTemplateCommand(&env{}, capture(&tmpl)), bad...), tmpl)
	}
}

// TestDeleteRun: without --yes and no terminal a delete is refused before
// the store is opened; with it the deployment (never deployed) and a
// template go, and a built-in template stays.
func TestDeleteRun(t *testing.T) {
	a, id := testApp(t)
	ctx := context.Background()
	opened := 0
	open := func() (*app.App, error) { opened++; return a, nil }

	e, _, _ := testEnv(false, "table")
	if err := e.deleteRun(ctx, &deleteOptions{App: open, ID: id, Force: true}); exitCode(err) != 2 || !strings.Contains(err.Error(), "even if stacks are deployed? Their resources would be orphaned. Refusing without --yes") {
		t.Errorf("delete --force without --yes: exit %d (%v)", exitCode(err), err)
	}
	if err := e.deleteTemplateRun(ctx, &templateOptions{App: open, Name: "demo"}); exitCode(err) != 2 || !strings.Contains(err.Error(), "Delete template demo? Refusing without --yes") {
		t.Errorf("delete-template without --yes: exit %d (%v)", exitCode(err), err)
	}
	if opened != 0 {
		t.Errorf("a refused delete opened the store")
	}

	e, out, errb := testEnv(false, "table")
	e.yes = true
	if err := e.deleteRun(ctx, &deleteOptions{App: open, ID: id}); err != nil {
		t.Fatal(err)
	}
	if errb.String() != "deleted deployment "+id+"\n" || out.Len() != 0 {
		t.Errorf("delete: stdout %q, stderr %q", out, errb)
	}
	if _, err := a.ListEnvironments(ctx, id); exitCode(err) == 0 {
		t.Errorf("the deployment is still there")
	}
	if _, err := a.CreateTemplate(ctx, app.CreateTemplateRequest{Name: "shop", FromTemplate: "demo"}); err != nil {
		t.Fatal(err)
	}
	e, _, errb = testEnv(false, "table")
	e.yes = true
	if err := e.deleteTemplateRun(ctx, &templateOptions{App: open, Name: "shop"}); err != nil || errb.String() != "deleted template shop\n" {
		t.Errorf("delete-template shop: %v, stderr %q", err, errb)
	}
	if err := e.deleteTemplateRun(ctx, &templateOptions{App: open, Name: "demo"}); exitCode(err) != 1 || !strings.Contains(err.Error(), "built in") {
		t.Errorf("delete-template of a built-in one: exit %d (%v), want 1", exitCode(err), err)
	}
}
