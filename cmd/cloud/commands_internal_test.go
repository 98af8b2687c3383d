package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/human"
	"github.com/urfave/cli/v2"
)

// The commands are tested twice, in process: argv → options (the command
// built with a runF that captures them), and options → output (the run
// function with buffers, a fixed clock, on a terminal and not), against a
// real store. The end-to-end tests run the binary.

// parse runs cmd on argv the way the CLI does and returns its error.
func parse(t *testing.T, cmd *cli.Command, argv ...string) error {
	t.Helper()
	a := &cli.App{Name: "cloud", Commands: []*cli.Command{cmd}, ExitErrHandler: func(*cli.Context, error) {},
		Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError("%v", err) }}
	cmd.OnUsageError = a.OnUsageError
	return a.Run(interspersed(a, append([]string{"cloud", cmd.Name}, argv...)))
}

// capture returns a runF that keeps the options it is given.
func capture[T any](got **T) func(context.Context, *T) error {
	return func(_ context.Context, o *T) error { *got = o; return nil }
}

// testEnv is an env writing to buffers, as on a terminal (with colour) or
// not, printing in format.
func testEnv(tty bool, format string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{io: &streams{In: strings.NewReader(""), Out: &out, Err: &errb, TTY: tty}, output: format, color: tty}, &out, &errb
}

// fixedNow is the clock of the test store.
var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// testClient is a client over a store in a temporary home holding one
// deployment of the demo template (never deployed), created at fixedNow.
func testClient(t *testing.T) (client.Client, string) {
	t.Helper()
	a, id := testApp(t)
	return client.NewLocal(a), id
}

func TestStatusCommand_Options(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want *statusOptions // nil: a usage error
	}{
		{[]string{"D1BRV40"}, &statusOptions{ID: "D1BRV40", Env: "dev"}},
		{[]string{"D1BRV40", "-e", "prod"}, &statusOptions{ID: "D1BRV40", Env: "prod"}},
		{[]string{"--all-environments", "D1BRV40"}, &statusOptions{ID: "D1BRV40"}},
		{[]string{"D1BRV40", "-a", "-e", "dev"}, nil},
		{[]string{}, nil},
		{[]string{"D1", "D2"}, nil},
		{[]string{"D1BRV40", "--no-such-flag"}, nil},
	} {
		var got *statusOptions
		err := parse(t, statusCommand(&env{}, capture(&got)), tc.argv...)
		if tc.want == nil {
			if code := exitCode(err); code != 2 || got != nil {
				t.Errorf("status %v: exit %d (%v), ran with %+v; want a usage error", tc.argv, code, err, got)
			}
			continue
		}
		if err != nil || got == nil {
			t.Fatalf("status %v: %v", tc.argv, err)
		}
		if got.Client == nil {
			t.Errorf("status %v: no client", tc.argv)
		}
		got.Client = nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("status %v: options %+v, want %+v", tc.argv, got, tc.want)
		}
	}
}

func TestHistoryCommand_Options(t *testing.T) {
	var got *historyOptions
	if err := parse(t, historyCommand(&env{}, capture(&got)), "-n", "5", "-e", "stage", "D1BRV40"); err != nil {
		t.Fatal(err)
	}
	if got.ID != "D1BRV40" || got.Env != "stage" || got.Limit != 5 {
		t.Errorf("history options %+v", got)
	}
	for _, bad := range [][]string{{"-n", "0", "D1"}, {"-n", "501", "D1"}, {}, {"-n", "x", "D1"}} {
		got = nil
		if err := parse(t, historyCommand(&env{}, capture(&got)), bad...); exitCode(err) != 2 || got != nil {
			t.Errorf("history %v: exit %d (%v); want a usage error", bad, exitCode(err), err)
		}
	}
}

func TestOutputsAndCancelAndListCommand_Options(t *testing.T) {
	var outs *outputsOptions
	if err := parse(t, outputsCommand(&env{}, capture(&outs)), "D1BRV40", "database", "--show-secrets", "-e", "prod"); err != nil {
		t.Fatal(err)
	}
	if outs.ID != "D1BRV40" || outs.Stack != "database" || outs.Env != "prod" || !outs.ShowSecrets {
		t.Errorf("outputs options %+v", outs)
	}
	outs = nil
	if err := parse(t, outputsCommand(&env{}, capture(&outs)), "D1", "a", "b"); exitCode(err) != 2 || outs != nil {
		t.Errorf("outputs with three arguments: exit %d (%v)", exitCode(err), err)
	}
	var cancel *cancelOptions
	e := &env{serverURL: "http://cloud.example:8080"}
	if err := parse(t, cancelCommand(e, capture(&cancel)), "op-1"); err != nil {
		t.Fatal(err)
	}
	if cancel.OperationID != "op-1" || cancel.Follow != "cloud --server http://cloud.example:8080 logs" {
		t.Errorf("cancel options %+v", cancel)
	}
	var list *listOptions
	if err := parse(t, listCommand(&env{}, capture(&list)), "--all"); err != nil || !list.All {
		t.Errorf("list --all: %v, %+v", err, list)
	}
	list = nil
	if err := parse(t, listCommand(&env{}, capture(&list)), "extra"); exitCode(err) != 2 || list != nil {
		t.Errorf("list extra: exit %d (%v); want a usage error", exitCode(err), err)
	}
}

// TestStatusRun: the table names the deployment and its stacks, coloured
// on a terminal only; -o json is the client's document.
func TestStatusRun(t *testing.T) {
	cl, id := testClient(t)
	opts := &statusOptions{Client: func() (client.Client, error) { return cl, nil }, ID: id, Env: "dev"}
	for _, tty := range []bool{false, true} {
		e, out, _ := testEnv(tty, "table")
		if err := e.statusRun(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if got, want := strings.Contains(s, "\x1b["), tty; got != want {
			t.Errorf("tty %v: colour %v, want %v:\n%q", tty, got, want, s)
		}
		plain := ansi.Strip(s)
		for _, want := range []string{"Deployment " + id + "  acme/shop  domain shop.example.com  revision 1",
			"Environment dev  initialized  enabled  region us-east-1", "0      network     not_deployed  0          -\n", "LAYER  STACK"} {
			if !strings.Contains(plain, want) {
				t.Errorf("tty %v: no %q in\n%s", tty, want, plain)
			}
		}
	}
	e, out, _ := testEnv(false, "json")
	if err := e.statusRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	d, err := cl.Deployment(context.Background(), id, "dev")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(d, "", "  ")
	if got := strings.TrimSpace(out.String()); got != string(want) {
		t.Errorf("status -o json:\n%s\nwant the document:\n%s", got, want)
	}
	opts.Env = "nosuch"
	if err := e.statusRun(context.Background(), opts); exitCode(err) != 2 {
		t.Errorf("status -e nosuch: exit %d (%v), want 2", exitCode(err), err)
	}
}

// TestListAndHistoryRun: the list shows the deployment with its creation
// time in local time; an empty history is an empty list document.
func TestListAndHistoryRun(t *testing.T) {
	cl, id := testClient(t)
	get := func() (client.Client, error) { return cl, nil }
	e, out, _ := testEnv(false, "table")
	if err := e.listRun(context.Background(), &listOptions{Client: get}); err != nil {
		t.Fatal(err)
	}
	// The environments in the manifest's order (dev, stage, prod), and
	// the last activity: a deployment never run was last changed when it
	// was created.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") || !strings.HasSuffix(lines[0], "LAST ACTIVITY") ||
		!strings.HasPrefix(lines[1], id+" ") || !strings.HasSuffix(lines[1], human.DateTime(fixedNow)) ||
		!strings.Contains(lines[1], "dev:initialized stage:initialized prod:initialized") {
		t.Errorf("list:\n%s", out)
	}
	e, out, _ = testEnv(false, "yaml")
	if err := e.historyRun(context.Background(), &historyOptions{Client: get, ID: id, Limit: 20}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "items: []") || !strings.Contains(got, "totalCount: 0") {
		t.Errorf("history -o yaml of a deployment never run:\n%s", got)
	}
	e, out, _ = testEnv(false, "table")
	if err := e.outputsRun(context.Background(), &outputsOptions{Client: get, ID: id, Env: "dev"}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "(no outputs)") {
		t.Errorf("outputs of a deployment never run:\n%s", got)
	}
	e, _, _ = testEnv(false, "table")
	if err := e.cancelRun(context.Background(), &cancelOptions{Client: get, OperationID: "op-01a2146547e0-781f0d"}); exitCode(err) != 1 || !strings.Contains(err.Error(), "not found") {
		t.Errorf("cancel of an unknown operation: exit %d (%v)", exitCode(err), err)
	}
}
