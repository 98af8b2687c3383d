package main

import (
	"context"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/auth/cognito"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/urfave/cli/v2"
)

// The operation commands: argv into the request the client seam runs.

func TestOperateCommands_Options(t *testing.T) {
	type cmd func(e *env, runF func(context.Context, *operateOptions) error) *cli.Command
	req := func(kind vocab.Kind, mod func(*client.Request)) client.Request {
		r := client.Request{DeploymentID: "D1BRV40", Environment: "dev", Kind: kind}
		if mod != nil {
			mod(&r)
		}
		return r
	}
	for _, tc := range []struct {
		name string
		cmd  cmd
		argv []string
		want *operateOptions // nil: a usage error
	}{
		{"deploy", deployCommand, []string{"D1BRV40"}, &operateOptions{Request: req(vocab.KindDeploy, nil)}},
		{"deploy", deployCommand, []string{"D1BRV40", "-e", "prod", "-p", "8", "--fail-fast", "--force", "--resume", "--skip-validation", "--require-lock"},
			&operateOptions{Request: req(vocab.KindDeploy, func(r *client.Request) {
				r.Environment, r.Parallel, r.FailFast, r.Force, r.Resume, r.SkipValidation, r.RequireLock = "prod", 8, true, true, true, true, true
			})}},
		{"deploy", deployCommand, []string{"D1BRV40", "--preview", "-f", "m.yaml"},
			&operateOptions{Request: req(vocab.KindPreview, nil), ManifestFile: "m.yaml"}},
		{"deploy", deployCommand, []string{"D1BRV40", "--parallel", "64"}, &operateOptions{Request: req(vocab.KindDeploy, func(r *client.Request) { r.Parallel = 64 })}},
		{"deploy", deployCommand, []string{"D1BRV40", "--parallel", "0"}, nil},
		{"deploy", deployCommand, []string{"D1BRV40", "--parallel", "65"}, nil},
		{"deploy", deployCommand, []string{"D1BRV40", "--parallel", "abc"}, nil},
		{"deploy", deployCommand, []string{}, nil},
		{"deploy", deployCommand, []string{"D1BRV40", "extra"}, nil},
		{"deploy-stack", deployStackCommand, []string{"D1BRV40", "app", "--with-dependencies", "--cascade", "--force"},
			&operateOptions{Request: req(vocab.KindDeploy, func(r *client.Request) { r.Stack, r.WithDependencies, r.Cascade, r.Force = "app", true, true, true })}},
		{"deploy-stack", deployStackCommand, []string{"D1BRV40"}, nil},
		{"preview", previewCommand, []string{"D1BRV40", "-e", "stage"}, &operateOptions{Request: req(vocab.KindPreview, func(r *client.Request) { r.Environment = "stage" })}},
		{"preview", previewCommand, []string{"D1BRV40", "--force"}, nil},
		{"refresh", refreshCommand, []string{"D1BRV40", "--stack", "site", "--stack", "app"},
			&operateOptions{Request: req(vocab.KindRefresh, func(r *client.Request) { r.Stacks = []string{"site", "app"} })}},
		{"destroy", destroyCommand, []string{"D1BRV40"}, &operateOptions{Request: req(vocab.KindDestroy, nil), Confirm: true}},
		{"destroy", destroyCommand, []string{"D1BRV40", "--resume"}, nil},
		{"destroy-stack", destroyStackCommand, []string{"D1BRV40", "storage", "--force"},
			&operateOptions{Request: req(vocab.KindDestroy, func(r *client.Request) { r.Stack, r.Force = "storage", true }), Confirm: true}},
	} {
		var got *operateOptions
		err := parse(t, tc.cmd(&env{}, capture(&got)), tc.argv...)
		if tc.want == nil {
			wantUsage(t, tc.name, tc.argv, err, got)
			continue
		}
		if err != nil || got == nil {
			t.Fatalf("%s %v: %v", tc.name, tc.argv, err)
		}
		if got.Client == nil {
			t.Errorf("%s %v: no client", tc.name, tc.argv)
		}
		if got.Request.Command != tc.name {
			t.Errorf("%s %v: recorded as command %q", tc.name, tc.argv, got.Request.Command)
		}
		got.Client, got.Request.Command, got.Request.Flags = nil, "", nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v:\n got %+v\nwant %+v", tc.name, tc.argv, got, tc.want)
		}
	}
}

// TestOperateCommands_RecordTheirFlags: the operation records the flags
// the user set, by name, and not the ones left at their defaults.
func TestOperateCommands_RecordTheirFlags(t *testing.T) {
	var got *operateOptions
	if err := parse(t, deployCommand(&env{}, capture(&got)), "D1BRV40", "-p", "2", "--force"); err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"parallel": 2, "force": true}; !reflect.DeepEqual(got.Request.Flags, want) {
		t.Errorf("flags recorded = %v, want %v", got.Request.Flags, want)
	}
}

func TestRollbackCommand_Options(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		yes  bool
		want *rollbackOptions // nil: a usage error
	}{
		{[]string{"D1BRV40", "--to", "op-1"}, false, &rollbackOptions{operateOptions: operateOptions{Request: client.Request{
			DeploymentID: "D1BRV40", Environment: "dev", Kind: vocab.KindRollback, To: "op-1"}}}},
		{[]string{"D1BRV40", "-e", "prod", "--to", "op-1", "-p", "2"}, true, &rollbackOptions{operateOptions: operateOptions{Request: client.Request{
			DeploymentID: "D1BRV40", Environment: "prod", Kind: vocab.KindRollback, To: "op-1", Parallel: 2, DestroyAdded: true}}}},
		{[]string{"D1BRV40", "--list"}, false, &rollbackOptions{List: true, operateOptions: operateOptions{Request: client.Request{
			DeploymentID: "D1BRV40", Environment: "dev", Kind: vocab.KindRollback}}}},
		{[]string{"D1BRV40"}, false, nil},
		{[]string{"D1BRV40", "--list", "--to", "op-1"}, false, nil},
		{[]string{"D1BRV40", "--to", "op-1", "extra"}, false, nil},
	} {
		var got *rollbackOptions
		err := parse(t, rollbackCommand(&env{yes: tc.yes}, capture(&got)), tc.argv...)
		if tc.want == nil {
			wantUsage(t, "rollback", tc.argv, err, got)
			continue
		}
		if err != nil || got == nil {
			t.Fatalf("rollback %v: %v", tc.argv, err)
		}
		got.Client, got.Request.Command, got.Request.Flags = nil, "", nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("rollback %v:\n got %+v\nwant %+v", tc.argv, got, tc.want)
		}
	}
}

// TestOperateRun_DestroyAsksWithCounts: a destroy with no terminal to ask
// on and no --yes is refused, saying what it would destroy, before any
// operation starts.
func TestOperateRun_DestroyAsksWithCounts(t *testing.T) {
	cl, id := testClient(t)
	e, out, _ := testEnv(false, "")
	opts := &operateOptions{Client: func() (client.Client, error) { return cl, nil }, Confirm: true,
		Request: client.Request{DeploymentID: id, Environment: "dev", Kind: vocab.KindDestroy}}
	err := e.operateRun(context.Background(), opts)
	want := "Destroy every stack of " + id + " in dev (0 deployed stacks holding 0 resources)? Refusing without --yes"
	if exitCode(err) != 2 || !strings.Contains(err.Error(), want) || out.Len() != 0 {
		t.Fatalf("destroy without --yes: exit %d (%v), stdout %q; want a usage error saying %q", exitCode(err), err, out, want)
	}
	opts.Request.Stack = "app"
	err = e.operateRun(context.Background(), opts)
	if want := "Destroy stack app of " + id + " in dev (0 resources)?"; exitCode(err) != 2 || !strings.Contains(err.Error(), want) {
		t.Errorf("destroy-stack without --yes: %v; want %q", err, want)
	}
	ops, err := cl.Operations(context.Background(), id, "", 10)
	if err != nil || len(ops.Items) != 0 {
		t.Errorf("a refused destroy recorded operations: %v (%v)", ops.Items, err)
	}
}

// TestOperate_ServerRefusesWhatOnlyRunsHere: with --server, what only a
// run in this process can do is a usage error before anything is sent
// (the address answers nothing).
func TestOperate_ServerRefusesWhatOnlyRunsHere(t *testing.T) {
	h, err := client.NewHTTP("http://127.0.0.1:9", cognito.Store{Path: filepath.Join(t.TempDir(), "tokens.json")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []client.Request{
		{DeploymentID: "D1BRV40", Environment: "dev", Kind: vocab.KindDeploy, RequireLock: true},
		{DeploymentID: "D1BRV40", Environment: "dev", Kind: vocab.KindRollback, To: "op-1", FailFast: true},
	} {
		e, out, _ := testEnv(false, "")
		err := e.operateRun(context.Background(), &operateOptions{Client: func() (client.Client, error) { return h, nil }, Request: r})
		if exitCode(err) != 2 || out.Len() != 0 {
			t.Errorf("%+v on a server: exit %d (%v); want a usage error", r, exitCode(err), err)
		}
	}
}

// TestPrintReport_Kinds: a deploy's report counts each stack's
// resources; a refresh's and a preview's, which change none, do not, and
// their totals are in words.
func TestPrintReport_Kinds(t *testing.T) {
	start, end := fixedNow, fixedNow.Add(1500*time.Millisecond)
	op := func(kind vocab.Kind, status vocab.StackStatus) *model.Operation {
		return &model.Operation{ID: "op-1", Kind: kind, Status: vocab.OpSucceeded, StartedAt: start, FinishedAt: &end,
			Stacks: []*model.OperationStack{{Stack: "network", Status: status, StartedAt: &start, FinishedAt: &end,
				Changes: map[string]any{"same": 6}, ResourceCount: 5}}}
	}
	for _, tc := range []struct {
		op    *model.Operation
		lines []string
	}{
		{op(vocab.KindDeploy, vocab.StackDeployed), []string{"STACK    STATUS    DURATION  CHANGES  RESOURCES  NOTE", "network  deployed  1.5s      =6       5", "deploy op-1 succeeded in 1.5s: 1 deployed"}},
		{op(vocab.KindRefresh, vocab.StackInSync), []string{"STACK    STATUS   DURATION  CHANGES  NOTE", "network  in_sync  1.5s      =6", "refresh op-1 succeeded in 1.5s: 1 in sync"}},
		{op(vocab.KindPreview, vocab.StackPreviewed), []string{"STACK    STATUS     DURATION  CHANGES  NOTE", "network  previewed  1.5s      =6"}},
	} {
		e, _, errb := testEnv(false, "table")
		if err := e.printReport(tc.op, nil); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(errb.String(), "\n")
		for _, want := range tc.lines {
			if !slices.Contains(lines, want) {
				t.Errorf("%s report: no line %q in:\n%s", tc.op.Kind, want, errb)
			}
		}
	}
}

// TestPrintReport_PlanOrder: a followed run's report lists the stacks in
// its plan's order (as status does), not the document's start-time order,
// where stacks smart skip left unchanged come last; a stack the plan does
// not name keeps its place after them.
func TestPrintReport_PlanOrder(t *testing.T) {
	start, end := fixedNow, fixedNow.Add(time.Second)
	row := func(name string, status vocab.StackStatus, ran bool) *model.OperationStack {
		s := &model.OperationStack{Stack: name, Status: status}
		if ran {
			s.StartedAt, s.FinishedAt = &start, &end
		}
		return s
	}
	op := &model.Operation{ID: "op-1", Kind: vocab.KindDeploy, Status: vocab.OpSucceeded, StartedAt: start, FinishedAt: &end,
		Stacks: []*model.OperationStack{row("app", vocab.StackDeployed, true), row("extra", vocab.StackSkipped, false),
			row("database", vocab.StackUnchanged, false), row("network", vocab.StackUnchanged, false)}}
	e, _, errb := testEnv(false, "table")
	if err := e.printReport(op, []string{"network", "database", "app"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(errb.String(), "\n")[2:] {
		if f := strings.Fields(l); len(f) > 0 && f[0] != "STACK" && f[0] != "deploy" {
			got = append(got, f[0])
		}
	}
	if want := []string{"network", "database", "app", "extra"}; !slices.Equal(got, want) {
		t.Errorf("report rows %q, want %q:\n%s", got, want, errb)
	}
	if op.Stacks[0].Stack != "app" {
		t.Errorf("printing reordered the document: %s first", op.Stacks[0].Stack)
	}
}
