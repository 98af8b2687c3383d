package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
	"github.com/cloudplatform/cloud/sync/teamlock"
	"github.com/cloudplatform/cloud/vocab"
)

// fakeLock is an app.TeamLock whose answer the test decides.
type fakeLock struct {
	err      error
	mu       sync.Mutex
	acquired []string // "dep env info"
	held     *fakeHeld
}

func (f *fakeLock) Acquire(_ context.Context, dep, env, holder, info string) (app.HeldTeamLock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acquired = append(f.acquired, dep+" "+env+" "+info)
	if f.err != nil {
		return nil, f.err
	}
	f.held = &fakeHeld{holder: holder, lost: make(chan struct{})}
	return f.held, nil
}

type fakeHeld struct {
	holder   string
	lost     chan struct{}
	released int
}

func (h *fakeHeld) Token() int64                  { return 42 }
func (h *fakeHeld) Holder() string                { return h.holder }
func (h *fakeHeld) Until() time.Time              { return time.Now().Add(time.Minute) }
func (h *fakeHeld) Lost() <-chan struct{}         { return h.lost }
func (h *fakeHeld) Release(context.Context) error { h.released++; return nil }

func openLockedApp(t *testing.T, manifest string, tl app.TeamLock) *app.App {
	t.Helper()
	a, err := app.Open(context.Background(), app.Config{Home: t.TempDir(), StacksDirs: []string{probeDir}, Pulumi: pulumiPath(t), TeamLock: tl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Init(context.Background(), app.InitRequest{File: "chain.yaml", Data: []byte(manifest)}); err != nil {
		t.Fatal(err)
	}
	return a
}

func teamLockEvents(evs *[]store.Event, mu *sync.Mutex) func(store.Event) {
	return func(ev store.Event) {
		if ev.Kind == vocab.EventTeamLock {
			mu.Lock()
			*evs = append(*evs, ev)
			mu.Unlock()
		}
	}
}

func TestRun_TeamLock(t *testing.T) {
	ctx := context.Background()
	deploy := app.RunRequest{DeploymentID: "DCHAIN1", Environment: "dev", Kind: vocab.KindDeploy, RunOptions: app.RunOptions{Parallel: 2}}

	t.Run("held", func(t *testing.T) {
		tl := &fakeLock{err: fmt.Errorf("%w: locked by r9/bob@m2 (deploy DCHAIN1/dev) since …", app.ErrTeamLockHeld)}
		a := openLockedApp(t, chain("0"), tl)
		_, err := a.Run(ctx, deploy)
		if !errors.Is(err, app.ErrTeamLockHeld) || !strings.Contains(err.Error(), "locked by r9/bob@m2") {
			t.Fatalf("deploy while held: %v", err)
		}
		if ops, _ := a.History(ctx, "DCHAIN1", "", 10); len(ops) != 0 {
			t.Errorf("a refused deploy recorded %d operations", len(ops))
		}
	})

	t.Run("taken", func(t *testing.T) {
		tl := &fakeLock{}
		a := openLockedApp(t, chain("0"), tl)
		var evs []store.Event
		var mu sync.Mutex
		req := deploy
		req.Observer = teamLockEvents(&evs, &mu)
		rep, err := a.Run(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Operation.Flags["teamLockToken"]; fmt.Sprint(got) != "42" {
			t.Errorf("operation flags %v, want teamLockToken 42", rep.Operation.Flags)
		}
		if len(tl.acquired) != 1 || tl.acquired[0] != "DCHAIN1 dev deploy DCHAIN1/dev" || tl.held.released != 1 {
			t.Errorf("acquired %v, released %d", tl.acquired, tl.held.released)
		}
		if len(evs) != 1 || !strings.Contains(string(evs[0].Payload), `"token":42`) {
			t.Errorf("team.lock events: %v", evs)
		}
		// Preview changes nothing: no lock.
		prev := deploy
		prev.Kind = vocab.KindPreview
		if _, err := a.Run(ctx, prev); err != nil {
			t.Fatal(err)
		}
		if len(tl.acquired) != 1 {
			t.Errorf("preview took the team lock: %v", tl.acquired)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		tl := &fakeLock{err: errors.New("dial tcp 127.0.0.1:1: connection refused")}
		a := openLockedApp(t, chain("0"), tl)
		req := deploy
		req.RequireLock = true
		if _, err := a.Run(ctx, req); !errors.Is(err, app.ErrTeamLockRequired) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("--require-lock, unreachable: %v", err)
		}
		if ops, _ := a.History(ctx, "DCHAIN1", "", 10); len(ops) != 0 {
			t.Errorf("a refused deploy recorded %d operations", len(ops))
		}
		var warned []string
		req = deploy
		req.Warn = func(m string) { warned = append(warned, m) }
		if _, err := a.Run(ctx, req); err != nil {
			t.Fatal(err)
		}
		if len(warned) != 1 || warned[0] != "team lock not taken: dial tcp 127.0.0.1:1: connection refused" {
			t.Errorf("warnings %q", warned)
		}
	})

	t.Run("lost", func(t *testing.T) {
		tl := &fakeLock{}
		a := openLockedApp(t, chain("30"), tl)
		var evs []store.Event
		var mu sync.Mutex
		req := deploy
		req.Observer = func(ev store.Event) {
			teamLockEvents(&evs, &mu)(ev)
			// b is running: the lease is taken over.
			if ev.Kind == vocab.EventStack && ev.Stack == "b" && strings.Contains(string(ev.Payload), `"deploying"`) {
				close(tl.held.lost)
			}
		}
		rep, err := a.Run(ctx, req)
		if !errors.Is(err, app.ErrCancelled) {
			t.Fatalf("run whose lock was lost: %v", err)
		}
		if rep.Operation.Status != "cancelled" || tl.held.released != 1 {
			t.Errorf("operation %s, released %d", rep.Operation.Status, tl.held.released)
		}
		assertCutShort(t, rep)
		mu.Lock()
		defer mu.Unlock()
		assertLostEvent(t, evs)
	})
}

// assertCutShort checks that a chain run cancelled while b was deploying
// (b sleeps 30 s) stopped there: b did not finish, c never ran.
func assertCutShort(t *testing.T, rep *app.Report) {
	t.Helper()
	got := map[string]vocab.StackStatus{}
	for _, s := range rep.Stacks {
		got[s.Stack] = s.Status
	}
	if got["a"] != vocab.StackDeployed {
		t.Errorf("stack a %q, want %s (it ran before the lock was lost)", got["a"], vocab.StackDeployed)
	}
	if b := got["b"]; b != vocab.StackCancelled && b != vocab.StackInterrupted {
		t.Errorf("stack b %q, want it cancelled or interrupted: the run went on after the lock was lost", b)
	}
	if c := got["c"]; c == vocab.StackDeployed || c == vocab.StackDeploying {
		t.Errorf("stack c %q: it ran after the lock was lost", c)
	}
}

func assertLostEvent(t *testing.T, evs []store.Event) {
	t.Helper()
	for _, ev := range evs {
		var p map[string]any
		json.Unmarshal(ev.Payload, &p)
		if p["lost"] == true {
			return
		}
	}
	t.Errorf("no team.lock lost event: %v", evs)
}

// TestRun_TeamLockLostOnDynalite: the real team lock on a real table. While
// b runs, another machine breaks the lease (unlock --force) and takes it;
// the next heartbeat finds it taken over, and the operation is cancelled
// with a team.lock lost event, leaving the lease to its new holder.
func TestRun_TeamLockLostOnDynalite(t *testing.T) {
	ctx := context.Background()
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	beats := make(chan time.Time)
	beaten := make(chan error, 8)
	lock := teamlock.New(func(context.Context) (*remote.Table, error) { return tbl, nil })
	lock.Ticker = func(time.Duration) (<-chan time.Time, func()) { return beats, func() {} }
	lock.AfterBeat = func(err error) { beaten <- err }
	a := openLockedApp(t, chain("30"), lock)

	deploying := make(chan struct{})
	var once sync.Once
	var evs []store.Event
	var mu sync.Mutex
	req := app.RunRequest{DeploymentID: "DCHAIN1", Environment: "dev", Kind: vocab.KindDeploy, RunOptions: app.RunOptions{Parallel: 2}}
	req.Observer = func(ev store.Event) {
		teamLockEvents(&evs, &mu)(ev)
		if ev.Kind == vocab.EventStack && ev.Stack == "b" && strings.Contains(string(ev.Payload), `"deploying"`) {
			once.Do(func() { close(deploying) })
		}
	}
	// The other machine: once b runs, it breaks the lease and takes it;
	// then this machine's heartbeat beats.
	takeover := make(chan error, 1)
	go func() {
		select {
		case <-deploying:
		case <-time.After(time.Minute):
			takeover <- errors.New("b never started deploying")
			return
		}
		key := teamlock.Key("DCHAIN1", "dev")
		if _, err := tbl.BreakLease(ctx, key); err != nil {
			takeover <- err
			return
		}
		if _, err := tbl.AcquireLease(ctx, key, "r2/bob@m2", "deploy DCHAIN1/dev", time.Minute); err != nil {
			takeover <- err
			return
		}
		select {
		case beats <- time.Now():
		case <-time.After(time.Minute):
			takeover <- errors.New("the heartbeat took no beat")
			return
		}
		takeover <- <-beaten
	}()

	rep, err := a.Run(ctx, req)
	if !errors.Is(err, app.ErrCancelled) {
		t.Fatalf("run whose team lease was taken over: %v", err)
	}
	if err := <-takeover; !errors.Is(err, remote.ErrLeaseLost) {
		t.Fatalf("the heartbeat after the takeover: %v, want ErrLeaseLost", err)
	}
	if rep.Operation.Status != vocab.OpCancelled {
		t.Errorf("operation %s, want cancelled", rep.Operation.Status)
	}
	assertCutShort(t, rep)
	mu.Lock()
	assertLostEvent(t, evs)
	mu.Unlock()
	l, err := tbl.GetLease(ctx, teamlock.Key("DCHAIN1", "dev"))
	if err != nil || l.Holder != "r2/bob@m2" {
		t.Errorf("lease after the run: %+v, %v; want it still bob's", l, err)
	}
}
