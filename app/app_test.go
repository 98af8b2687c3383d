package app_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// chain is a → b → c of probes, with a slow b when asked; prod is disabled.
func chain(delay string) string {
	return `version: 1
deployment_id: DCHAIN1
organization: acme
project: chain
environments:
  dev:
    region: eu-west-1
  prod:
    enabled: false
    region: eu-west-1
stacks:
  a: {program: probe, config: {resources: 1}}
  b: {program: probe, dependencies: [a], config: {delaySeconds: ` + delay + `}}
  c: {program: probe, dependencies: [b]}
`
}

func openApp(t *testing.T, manifest string) *app.App {
	t.Helper()
	a, _ := openAppStore(t, manifest)
	return a
}

// openWithStore opens an App of cfg over a store the test keeps, to
// record what no door records (another machine's operation, a million
// events).
func openWithStore(t testing.TB, cfg app.Config) (*app.App, *store.DB) {
	t.Helper()
	db, err := app.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = db
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); db.Close() })
	return a, db
}

// openAppStore is openApp with the store kept (openWithStore).
func openAppStore(t *testing.T, manifest string) (*app.App, *store.DB) {
	t.Helper()
	a, db := openWithStore(t, app.Config{Home: t.TempDir(), StacksDirs: []string{probeDir}, Pulumi: pulumiPath(t)})
	if _, err := a.Init(context.Background(), app.InitRequest{File: "chain.yaml", Data: []byte(manifest)}); err != nil {
		t.Fatal(err)
	}
	return a, db
}

func statuses(t *testing.T, a *app.App) map[string]string {
	t.Helper()
	st, err := a.Status(context.Background(), "DCHAIN1", "dev")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range st.Environments[0].Stacks {
		out[s.Name] = string(s.Status)
	}
	return out
}

func TestRun_DisabledEnvironmentRefused(t *testing.T) {
	a := openApp(t, chain("0"))
	_, err := a.Run(context.Background(), app.RunRequest{DeploymentID: "DCHAIN1", Environment: "prod", Kind: vocab.KindDeploy, RunOptions: app.RunOptions{Parallel: 1}})
	if !errors.Is(err, app.ErrDisabled) {
		t.Fatalf("deploy to disabled prod: %v, want ErrDisabled", err)
	}
	if !strings.Contains(err.Error(), "cloud enable-environment DCHAIN1 prod") {
		t.Errorf("error does not say how to enable it: %v", err)
	}
	ops, _ := a.History(context.Background(), "DCHAIN1", "", 10)
	if len(ops) != 0 {
		t.Errorf("a refused deploy recorded %d operations", len(ops))
	}
}

func TestRun_DeployStackAndDestroyStackRules(t *testing.T) {
	a := openApp(t, chain("0"))
	ctx := context.Background()
	run := func(req app.RunRequest) (*app.Report, error) {
		req.DeploymentID, req.Environment, req.Parallel = "DCHAIN1", "dev", 2
		return a.Run(ctx, req)
	}
	_, err := run(app.RunRequest{Kind: vocab.KindDeploy, Stacks: []string{"b"}})
	var ue *app.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "depends on a, which is not deployed") {
		t.Fatalf("deploy-stack b without a: %v", err)
	}
	rep, err := run(app.RunRequest{Kind: vocab.KindDeploy, Stacks: []string{"b"}, RunOptions: app.RunOptions{WithDependencies: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rep.Stacks), 2; got != want {
		t.Errorf("--with-dependencies ran %d stacks, want %d (a and b)", got, want)
	}
	if got := statuses(t, a); got["a"] != "deployed" || got["b"] != "deployed" || got["c"] != "not_deployed" {
		t.Errorf("after deploy-stack b --with-dependencies: %v", got)
	}
	_, err = run(app.RunRequest{Kind: vocab.KindDestroy, Stacks: []string{"a"}})
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "deployed dependents (b)") {
		t.Fatalf("destroy-stack a with b deployed: %v", err)
	}
	if _, err := run(app.RunRequest{Kind: vocab.KindDestroy, Stacks: []string{"a"}, RunOptions: app.RunOptions{Force: true}}); err != nil {
		t.Fatal(err)
	}
	if got := statuses(t, a); got["a"] != "destroyed" || got["b"] != "deployed" {
		t.Errorf("after destroy-stack a --force: %v", got)
	}
}

func TestRun_SecondOperationIsRefusedAndCancelReleasesEverything(t *testing.T) {
	a := openApp(t, chain("60"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan string, 1)
	bRunning := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	var rep *app.Report
	go func() {
		var err error
		rep, err = a.Run(ctx, app.RunRequest{DeploymentID: "DCHAIN1", Environment: "dev", Kind: vocab.KindDeploy, RunOptions: app.RunOptions{Parallel: 2},
			RunHooks: app.RunHooks{
				Started: func(op *store.Operation, _ map[string]int) { started <- op.ID },
				Observer: func(ev store.Event) {
					if ev.Stack == "b" && ev.Kind == vocab.EventEngine {
						once.Do(func() { close(bRunning) })
					}
				}}})
		done <- err
	}()
	var opID string
	select {
	case opID = <-started:
	case err := <-done:
		t.Fatalf("deploy ended before it started: %v", err)
	}
	select {
	case <-bRunning:
	case <-time.After(2 * time.Minute):
		t.Fatal("b never started")
	}

	_, err := a.Run(context.Background(), app.RunRequest{DeploymentID: "DCHAIN1", Environment: "dev", Kind: vocab.KindDeploy, RunOptions: app.RunOptions{Parallel: 1}})
	var busy *store.BusyError
	if !errors.As(err, &busy) || busy.Holder.ID != opID {
		t.Fatalf("second deploy while %s runs: %v, want a BusyError naming it", opID, err)
	}

	cancel()
	if err := <-done; !errors.Is(err, app.ErrCancelled) {
		t.Fatalf("cancelled deploy returned %v, want ErrCancelled", err)
	}
	byStack := map[string]string{}
	for _, s := range rep.Stacks {
		byStack[s.Stack] = string(s.Status)
	}
	if byStack["a"] != "deployed" || byStack["b"] != "cancelled" || byStack["c"] != "cancelled" {
		t.Errorf("after cancel: %v, want a deployed, b and c cancelled", byStack)
	}
	if got, want := rep.Operation.Status, vocab.OpCancelled; got != want {
		t.Errorf("operation %s, want %s", got, want)
	}

	// Nothing is left locked: the next deploy runs b for real.
	if _, err := a.SetConfig(context.Background(), "DCHAIN1", "stacks.b.config.delaySeconds", "0"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run(context.Background(), app.RunRequest{DeploymentID: "DCHAIN1", Environment: "dev", Kind: vocab.KindDeploy, RunOptions: app.RunOptions{Parallel: 2}}); err != nil {
		t.Fatalf("deploy after cancel: %v", err)
	}
	for n, s := range statuses(t, a) {
		if s != "deployed" {
			t.Errorf("%s is %s after the new deploy", n, s)
		}
	}
}
