package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/engine"
	"github.com/cloudplatform/cloud/sync/remote"
	"github.com/cloudplatform/cloud/vocab"
)

var ctx = context.Background()

// fakeClock is a wall clock shared by the replicas of a test: every
// reading is 1 ms after the previous one, so HLCs (hence which write wins)
// depend only on the order of the operations, not on the machine's speed,
// and two runs of one scenario produce the same winners.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ms.Store(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).UnixMilli())
	return c
}

func (c *fakeClock) Now() time.Time { return time.UnixMilli(c.ms.Add(1)).UTC() }

type replica struct {
	name string
	db   *store.DB
	eng  *engine.Engine
}

func newReplica(t testing.TB, name string, tbl *remote.Table, now func() time.Time) *replica {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "cloud.db")
	db, err := store.Open(ctx, path, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &replica{name: name, db: db, eng: engine.New(db, tbl, engine.Options{Now: now})}
}

func (r *replica) sync(t testing.TB) engine.SyncStats {
	t.Helper()
	st, err := r.eng.Sync(ctx)
	if err != nil {
		t.Fatalf("%s: sync: %v", r.name, err)
	}
	return st
}

// syncAll syncs every replica, pass after pass, until a pass moves nothing.
func syncAll(t testing.TB, rs ...*replica) {
	t.Helper()
	for pass := 0; pass < 10; pass++ {
		quiet := true
		for _, r := range rs {
			st := r.sync(t)
			if st.Push.Pushed > 0 || st.Push.Lost > 0 || st.Pull.Applied > 0 || st.Rounds > 1 {
				quiet = false
			}
		}
		if quiet {
			return
		}
	}
	t.Fatal("replicas did not become quiet after 10 passes")
}

// rows is a store's logical state: entity|key -> hlc|replica|deleted (the
// synced columns; local-only ones such as synced_hlc and gseq left out).
func rows(t testing.TB, db *store.DB) map[string]string {
	t.Helper()
	m := map[string]string{}
	if err := db.Rows(ctx, func(c store.Change, _ string) error {
		m[c.Entity+"|"+string(c.Key)] = fmt.Sprintf("%s|%s|%v", c.HLC, c.Replica, c.Deleted)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

func assertSameRows(t testing.TB, rs ...*replica) {
	t.Helper()
	want := rows(t, rs[0].db)
	for _, r := range rs[1:] {
		got := rows(t, r.db)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s has %q, %s has %q", k, rs[0].name, v, r.name, got[k])
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: only %s has it (%s)", k, r.name, v)
			}
		}
	}
}

// eventCounts returns the number of events of every operation.
func eventCounts(t testing.TB, db *store.DB) map[string]int {
	t.Helper()
	m := map[string]int{}
	if err := db.Rows(ctx, func(c store.Change, _ string) error {
		if c.Entity == "events" {
			var k []any
			_ = json.Unmarshal(c.Key, &k)
			m[k[0].(string)]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

func saveManifest(t testing.TB, db *store.DB, id, yaml string, devEnabled bool) {
	t.Helper()
	d := store.Deployment{ID: id, Organization: "acme", Project: "shop", Domain: "shop.example.com",
		Template: "default", Backend: "file:///tmp/state"}
	envs := []store.Environment{
		{Name: "dev", Enabled: devEnabled, Region: "us-east-1", AccountID: "111111111111"},
		{Name: "prod", Enabled: false, Region: "us-west-2", AccountID: "222222222222"},
	}
	stacks := []store.DeploymentStack{
		{Name: "network", Program: "network", Enabled: true, Config: map[string]any{"cidr": "10.0.0.0/16"}},
		{Name: "database", Program: "database", Enabled: true, Dependencies: []string{"network"}, Layer: 1},
	}
	if _, _, err := db.SaveManifest(ctx, d, yaml, "alice", envs, stacks); err != nil {
		t.Fatalf("SaveManifest: %v", err)
	}
}

// runOperation records a whole deploy: begin, events, a stack transition
// with its state and outputs (one secret), finish.
//
// Secret outputs are sealed with the writing replica's key; a store that
// pulled another replica's sealed output can neither read nor replace the
// outputs of that stack (see the report and store/sync_bug_test.go), so
// the random scenarios use plain outputs only.
func runOperation(t testing.TB, db *store.DB, id, dep string, events int, secret bool) error {
	t.Helper()
	op := &store.Operation{ID: id, DeploymentID: dep, Environment: "dev", Kind: "deploy", Actor: "alice", Command: "cloud deploy"}
	if err := db.BeginOperation(ctx, op); err != nil {
		return err
	}
	for i := 0; i < events; i++ {
		if err := db.AppendEvent(ctx, &store.Event{OperationID: op.ID, Stack: "network", Kind: "log",
			Payload: json.RawMessage(fmt.Sprintf(`{"text":"line %d"}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: "network", Status: vocab.StackDeployed,
		StartedAt: &now, FinishedAt: &now}, &store.StackState{Status: "deployed", ResourceCount: events}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOutputs(ctx, dep, "dev", "network", map[string]store.Output{
		"vpc": {Value: "vpc-" + id}, "password": {Value: "s3cret-" + id, Secret: secret}}); err != nil {
		t.Fatal(err)
	}
	return db.FinishOperation(ctx, op.ID, vocab.OpSucceeded, "", nil)
}

func putTemplate(t testing.TB, db *store.DB, name, body string) {
	t.Helper()
	if err := db.PutDeploymentTemplate(ctx, store.DeploymentTemplate{Name: name, Description: "d", Body: body}); err != nil {
		t.Fatal(err)
	}
}

func openConflicts(t testing.TB, db *store.DB) []store.Conflict {
	t.Helper()
	cs, err := db.Conflicts(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestEngine_TwoReplicas(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	clk := newFakeClock()
	a := newReplica(t, "a", tbl, clk.Now)
	b := newReplica(t, "b", tbl, clk.Now)

	saveManifest(t, a.db, "D1", "v1", true)
	if err := runOperation(t, a.db, "op-a-1", "D1", 5, true); err != nil {
		t.Fatal(err)
	}
	putTemplate(t, a.db, "team", "v1")

	// A new replica's first pull is a full reconciliation.
	st := a.sync(t)
	if st.Push.Pushed == 0 || !st.Pull.Reconciled {
		t.Errorf("a's first sync: %+v", st)
	}
	st = b.sync(t)
	if !st.Pull.Reconciled || st.Pull.Applied == 0 {
		t.Errorf("b's first sync: %+v", st)
	}
	assertSameRows(t, a, b)
	if d, err := b.db.Deployment(ctx, "D1"); err != nil || d.Organization != "acme" {
		t.Fatalf("b's copy of D1: %+v %v", d, err)
	}
	if evs, _ := b.db.Events(ctx, "op-a-1", 0, 100); len(evs) != 7 { // begin + 5 logs + finish
		t.Errorf("b has %d events of op-a-1, want 7", len(evs))
	}
	if ea, eb := eventCounts(t, a.db), eventCounts(t, b.db); fmt.Sprint(ea) != fmt.Sprint(eb) {
		t.Errorf("events: a %v, b %v", ea, eb)
	}
	// Secret outputs travel sealed with a's key, as is: the table never
	// holds them in clear, and b reads them as sealed (no team key yet).
	it, err := tbl.Get(ctx, "d#D1", "out#dev#network#password")
	if err != nil || strings.Contains(string(it.Payload), "s3cret") {
		t.Errorf("the secret output in the table: %s %v", it.Payload, err)
	}
	if outs, err := b.db.Outputs(ctx, "D1", "dev", "network"); err != nil || !outs["password"].Sealed || outs["password"].Value != nil {
		t.Errorf("b reading a's sealed output: %+v, %v; want it sealed, with no value", outs["password"], err)
	}

	// Incremental: a change on b reaches a through the feed.
	putTemplate(t, b.db, "team", "v2 from b")
	b.sync(t)
	st = a.sync(t)
	if st.Pull.Reconciled || st.Pull.Applied != 1 {
		t.Errorf("a's incremental pull: %+v", st)
	}
	if tm, _ := a.db.DeploymentTemplate(ctx, "team"); tm == nil || tm.Body != "v2 from b" {
		t.Errorf("a's template: %+v", tm)
	}
	if cs := openConflicts(t, a.db); len(cs) != 0 {
		t.Errorf("conflicts without a concurrent edit: %+v", cs)
	}

	// Concurrent edit: both change the template before syncing. b writes
	// later, so b wins. a pushes first; b's push overwrites a's version,
	// which b never saw: b records the conflict. a, whose row was a clean
	// copy of its own pushed version, just takes b's (it cannot tell a
	// concurrent successor from a plain one), so exactly one replica holds
	// it.
	putTemplate(t, a.db, "team", "a's edit")
	putTemplate(t, b.db, "team", "b's edit")
	syncAll(t, a, b)
	assertSameRows(t, a, b)
	ca, cb := openConflicts(t, a.db), openConflicts(t, b.db)
	if len(ca)+len(cb) != 1 || len(cb) != 1 {
		t.Fatalf("conflicts: a %+v, b %+v", ca, cb)
	}
	if !strings.Contains(string(cb[0].Loser.Payload), "a's edit") || !strings.Contains(string(cb[0].Winner.Payload), "b's edit") {
		t.Errorf("conflict: winner %s loser %s", cb[0].Winner.Payload, cb[0].Loser.Payload)
	}
	// The other order: b pushes first, a's later push is refused and a
	// records the conflict (the same id b would compute).
	putTemplate(t, a.db, "team", "a first")
	putTemplate(t, b.db, "team", "b second")
	b.sync(t)
	a.sync(t)
	b.sync(t)
	if ca := openConflicts(t, a.db); len(ca) != 1 || !strings.Contains(string(ca[0].Loser.Payload), "a first") {
		t.Fatalf("a's conflicts: %+v", ca)
	}
	// Keeping the loser writes it again; it wins everywhere.
	if err := b.db.ResolveConflict(ctx, cb[0].ID, true); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	assertSameRows(t, a, b)
	if tm, _ := a.db.DeploymentTemplate(ctx, "team"); tm == nil || tm.Body != "a's edit" {
		t.Errorf("a's template after restoring the loser: %+v", tm)
	}

	// Deletions travel as tombstones, with a TTL.
	if err := a.db.DeleteDeploymentTemplate(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	if _, err := b.db.DeploymentTemplate(ctx, "team"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deletion did not reach b: %v", err)
	}
	it, err = tbl.Get(ctx, "templates", "tmpl#team")
	if err != nil || !it.Deleted || it.ExpiresAt == 0 {
		t.Errorf("tombstone: %+v %v", it, err)
	}

	s, err := a.eng.Status(ctx)
	if err != nil || s.Pending != 0 || s.LastPush == nil || s.LastPull == nil || s.Cursor == "" || s.Table != tbl.Name() {
		t.Errorf("status: %+v %v", s, err)
	}
	if a.eng.PendingOutbox() != 0 || a.eng.LastPull().IsZero() || !a.eng.Ready() {
		t.Errorf("getters: pending %d, last pull %v, ready %v", a.eng.PendingOutbox(), a.eng.LastPull(), a.eng.Ready())
	}
}

func TestEngine_ThreeReplicasOffline(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	clk := newFakeClock()
	rs := []*replica{newReplica(t, "a", tbl, clk.Now), newReplica(t, "b", tbl, clk.Now), newReplica(t, "c", tbl, clk.Now)}
	a, b, c := rs[0], rs[1], rs[2]
	saveManifest(t, a.db, "D1", "v1", true)
	syncAll(t, rs...)

	// c goes offline and works alone; a and b keep syncing.
	saveManifest(t, c.db, "D1", "v2 from c", false)
	if err := runOperation(t, c.db, "op-c-1", "D1", 20, false); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		putTemplate(t, a.db, "t", fmt.Sprintf("a%d", i))
		putTemplate(t, b.db, "u", fmt.Sprintf("b%d", i))
		syncAll(t, a, b)
	}
	if err := runOperation(t, a.db, "op-a-1", "D1", 10, false); err != nil {
		t.Fatal(err)
	}
	syncAll(t, a, b)
	// c comes back.
	syncAll(t, rs...)
	assertSameRows(t, rs...)
	for _, r := range rs[1:] {
		if got, want := eventCounts(t, r.db), eventCounts(t, a.db); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events on %s: %v, on a: %v", r.name, got, want)
		}
	}
	// c's manifest is the only edit of D1's manifest rows: it wins
	// everywhere, no conflict. Both c and a deployed dev's network while c
	// was away: a's deploy is later, so its stack state and outputs win,
	// and c, which pulls them over its unpushed ones, keeps one conflict
	// per row both wrote. The templates only a and b edited, in turn,
	// conflict nowhere.
	for _, r := range rs {
		d, err := r.db.Deployment(ctx, "D1")
		if err != nil {
			t.Fatal(err)
		}
		if rev, err := r.db.Revision(ctx, "D1", d.CurrentRevision); err != nil || rev.YAML != "v2 from c" {
			t.Errorf("%s: D1's current revision %d: %+v, %v; want c's v2", r.name, d.CurrentRevision, rev, err)
		}
		if st, err := r.db.StackState(ctx, "D1", "dev", "network"); err != nil || st.LastOperationID != "op-a-1" || st.ResourceCount != 10 {
			t.Errorf("%s: dev/network state %+v, %v; want a's deploy's", r.name, st, err)
		}
		if outs, err := r.db.Outputs(ctx, "D1", "dev", "network"); err != nil || outs["vpc"].Value != "vpc-op-a-1" {
			t.Errorf("%s: dev/network outputs %+v, %v; want a's", r.name, outs, err)
		}
		for name, want := range map[string]string{"t": "a2", "u": "b2"} {
			if tm, err := r.db.DeploymentTemplate(ctx, name); err != nil || tm.Body != want {
				t.Errorf("%s: template %s %+v, %v; want %s", r.name, name, tm, err, want)
			}
		}
	}
	want := map[string]bool{
		`c: stack_states ["D1","dev","network"]`:       true,
		`c: outputs ["D1","dev","network","vpc"]`:      true,
		`c: outputs ["D1","dev","network","password"]`: true,
	}
	got := map[string]bool{}
	for _, r := range rs {
		for _, cf := range openConflicts(t, r.db) {
			k := fmt.Sprintf("%s: %s %s", r.name, cf.Entity, cf.Key)
			if got[k] {
				t.Errorf("%s recorded twice", k)
			}
			got[k] = true
			if cf.Winner.Replica != a.db.ReplicaID() || cf.Loser.Replica != c.db.ReplicaID() {
				t.Errorf("%s: winner %s, loser %s; want a's deploy over c's", k, cf.Winner.Replica, cf.Loser.Replica)
			}
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("conflict missing: %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("unexpected conflict: %s", k)
		}
	}
}

// TestEngine_LongAbsence: a pull whose cursor is older than
// ReconcileAfter reconciles fully instead of reading months of feed.
func TestEngine_LongAbsence(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	a := newReplica(t, "a", tbl, time.Now)
	putTemplate(t, a.db, "team", "v1")
	a.sync(t)
	st, err := a.eng.Pull(ctx)
	if err != nil || st.Reconciled {
		t.Fatalf("pull with a fresh cursor: %+v %v", st, err)
	}
	if err := a.db.SetSyncValue(ctx, "pull.cursor", remote.Cursor(time.Now().Add(-engine.ReconcileAfter-time.Hour))); err != nil {
		t.Fatal(err)
	}
	st, err = a.eng.Pull(ctx)
	if err != nil || !st.Reconciled {
		t.Fatalf("pull with a cursor older than %v: %+v %v", engine.ReconcileAfter, st, err)
	}
	if s, _ := a.eng.Status(ctx); s.LastReconcile == nil || time.Since(*s.LastReconcile) > time.Minute {
		t.Errorf("status after the reconcile: %+v", s)
	}
}

// TestEngine_Run: the background loop syncs, exposes its state, backs
// off when the table is unreachable, and stops with its context.
func TestEngine_Run(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	a := newReplica(t, "a", tbl, time.Now)
	putTemplate(t, a.db, "team", "v1")
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.eng.Run(runCtx, 20*time.Millisecond) }()
	waitFor(t, "the first push", func() bool { return !a.eng.LastPush().IsZero() && !a.eng.LastPull().IsZero() })
	if !a.eng.Running() || !a.eng.Ready() || a.eng.PendingOutbox() != 0 || a.eng.OpenConflicts() != 0 {
		t.Errorf("state: running %v ready %v pending %d conflicts %d", a.eng.Running(), a.eng.Ready(), a.eng.PendingOutbox(), a.eng.OpenConflicts())
	}
	srv.Kill()
	putTemplate(t, a.db, "team", "v2")
	waitFor(t, "a failed round", func() bool { return !a.eng.Ready() })
	if at, err := a.eng.LastError(); err == nil || at.IsZero() {
		t.Errorf("LastError = %v, %v", at, err)
	}
	cancel()
	if err := <-done; !errors.Is(err, engine.ErrStopped) {
		t.Errorf("Run returned %v", err)
	}
	if a.eng.Running() {
		t.Error("still running after its context ended")
	}
}

// waitFor polls cond until it holds (a readiness wait, not a timing
// assertion: the deadline is generous).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
