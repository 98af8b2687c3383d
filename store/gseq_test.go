package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/migrations"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// beginOpIn starts a deploy of D1BRV40 in env.
func beginOpIn(t testing.TB, db *store.DB, env string) *store.Operation {
	t.Helper()
	op := &store.Operation{DeploymentID: "D1BRV40", Environment: env, Kind: "deploy", Actor: "alice", Command: "cloud deploy"}
	if err := db.BeginOperation(context.Background(), op); err != nil {
		t.Fatalf("BeginOperation(%s): %v", env, err)
	}
	return op
}

func appendEvent(t testing.TB, db *store.DB, e *store.Event) {
	t.Helper()
	if err := db.AppendEvent(context.Background(), e); err != nil {
		t.Fatalf("AppendEvent: %v", err)
	}
}

func gseqs(evs []store.Event) []int64 {
	var out []int64
	for _, e := range evs {
		out = append(out, e.GlobalSeq)
	}
	return out
}

// wantRun fails unless got is from, from+1, …, to.
func wantRun(t *testing.T, what string, got []int64, from, to int64) {
	t.Helper()
	var want []int64
	for i := from; i <= to; i++ {
		want = append(want, i)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %d…%d", what, got, from, to)
	}
}

func TestDB_GlobalSeq(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	saveDeployment(t, db)
	if n, err := db.LastGlobalSeq(ctx); err != nil || n != 0 {
		t.Fatalf("LastGlobalSeq on an empty log = %d, %v; want 0", n, err)
	}

	dev := beginOpIn(t, db, "dev")   // gseq 1
	prod := beginOpIn(t, db, "prod") // gseq 2
	next := int64(3)
	for i := 0; i < 10; i++ {
		op := dev
		if i%3 == 0 {
			op = prod
		}
		e := &store.Event{OperationID: op.ID, Stack: "network", Kind: "engine.resource"}
		appendEvent(t, db, e)
		if e.GlobalSeq != next {
			t.Fatalf("append %d: GlobalSeq = %d, want %d", i, e.GlobalSeq, next)
		}
		next++
	}
	now := time.Now()
	if err := db.Transition(ctx, store.OperationStack{OperationID: dev.ID, Stack: "network", Status: "deployed", StartedAt: &now},
		&store.StackState{Status: "deployed"}, &store.Event{Kind: vocab.EventStack}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishOperation(ctx, dev.ID, vocab.OpSucceeded, "", nil); err != nil {
		t.Fatal(err)
	}
	last := next + 1 // the transition's event, then the finish's

	if got, err := db.LastGlobalSeq(ctx); err != nil || got != last {
		t.Fatalf("LastGlobalSeq = %d, %v; want %d", got, err, last)
	}
	all, err := db.EventsAfter(ctx, store.EventFilter{DeploymentID: "D1BRV40"}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantRun(t, "deployment gseqs", gseqs(all), 1, last)
	// Per-operation reads carry the global position too, increasing.
	devEvs, err := db.Events(ctx, dev.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(gseqs(devEvs)) || devEvs[0].GlobalSeq != 1 || devEvs[len(devEvs)-1].GlobalSeq != last {
		t.Errorf("operation gseqs = %v", gseqs(devEvs))
	}
	if k := devEvs[len(devEvs)-1].Kind; k != vocab.EventOperation {
		t.Errorf("last event kind %q, want the finish's operation.status", k)
	}

	// gseq is local: it is not in the events' synced payload.
	entries, err := db.Outbox(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Entity == "events" && strings.Contains(string(e.Payload), "gseq") {
			t.Fatalf("outbox payload of an event carries gseq: %s", e.Payload)
		}
	}
}

func TestDB_GlobalSeq_TwoHandles(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	saveDeployment(t, db)
	dev := beginOpIn(t, db, "dev")
	prod := beginOpIn(t, db, "prod")
	// A second handle on the same file stands in for a second process.
	db2, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()

	const goroutines, each = 8, 25
	var mu sync.Mutex
	var assigned []int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, op := db, dev
			if g%2 == 1 {
				h = db2
			}
			if g%4 >= 2 {
				op = prod
			}
			for i := 0; i < each; i++ {
				e := &store.Event{OperationID: op.ID, Kind: "log"}
				if err := h.AppendEvent(ctx, e); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				assigned = append(assigned, e.GlobalSeq)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Slice(assigned, func(i, j int) bool { return assigned[i] < assigned[j] })
	wantRun(t, "assigned gseqs", assigned, 3, goroutines*each+2)
	stored, err := db.EventsAfter(ctx, store.EventFilter{DeploymentID: "D1BRV40"}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantRun(t, "stored gseqs", gseqs(stored), 1, goroutines*each+2)
}

// TestMigrate_GlobalSeqBackfill opens a database written before migration
// 0003 and checks its events are numbered in the order they were appended,
// and that new events continue after them.
func TestMigrate_GlobalSeqBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cloud.db")
	raw := rawDB(t, path)
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.Name == "0003_event_gseq.sql" {
			break
		}
		if _, err := raw.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (?, ?, '')`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	// Two operations interleaved, as one writer appended them; their
	// primary key order differs from the append order.
	type old struct {
		op  string
		seq int
	}
	order := []old{{"op-b", 1}, {"op-a", 1}, {"op-b", 2}, {"op-a", 2}, {"op-a", 3}, {"op-b", 3}}
	for _, o := range order {
		if _, err := raw.Exec(`INSERT INTO events (operation_id, seq, deployment_id, environment, stack, kind, time, payload, hlc, replica_id)
			VALUES (?, ?, 'D1BRV40', 'dev', '', 'log', '2025-01-01T00:00:00.000000000Z', NULL, '0', 'r')`, o.op, o.seq); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evs, err := db.EventsAfter(ctx, store.EventFilter{DeploymentID: "D1BRV40"}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantRun(t, "backfilled gseqs", gseqs(evs), 1, int64(len(order)))
	for i, e := range evs {
		if e.OperationID != order[i].op || e.Seq != int64(order[i].seq) {
			t.Fatalf("gseq %d is %s/%d, want %s/%d (append order)", e.GlobalSeq, e.OperationID, e.Seq, order[i].op, order[i].seq)
		}
	}

	saveDeployment(t, db)
	op := beginOpIn(t, db, "dev")
	e := &store.Event{OperationID: op.ID, Kind: "log"}
	appendEvent(t, db, e)
	if want := int64(len(order) + 2); e.GlobalSeq != want {
		t.Errorf("GlobalSeq after migration = %d, want %d", e.GlobalSeq, want)
	}

	// An insert that does not set gseq (a fixture, sync) still gets the next one.
	raw = rawDB(t, path)
	if _, err := raw.Exec(`INSERT INTO events (operation_id, seq, deployment_id, environment, stack, kind, time, payload, hlc, replica_id)
		VALUES ('op-c', 1, 'D1BRV40', 'dev', '', 'log', '2025-01-01T00:00:00.000000000Z', NULL, '0', 'r')`); err != nil {
		t.Fatal(err)
	}
	evs, err = db.EventsAfter(ctx, store.EventFilter{OperationID: "op-c"}, 0, 0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("op-c events = %v, %v", evs, err)
	}
	if want := e.GlobalSeq + 1; evs[0].GlobalSeq != want {
		t.Errorf("gseq of a plain insert = %d, want %d", evs[0].GlobalSeq, want)
	}
	var nulls int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM events WHERE gseq IS NULL`).Scan(&nulls); err != nil || nulls != 0 {
		t.Errorf("events without gseq = %d, %v", nulls, err)
	}
	if _, err := raw.Exec(`INSERT INTO events (operation_id, seq, deployment_id, environment, stack, kind, time, payload, hlc, replica_id, gseq)
		VALUES ('op-c', 2, 'D1BRV40', 'dev', '', 'log', '', NULL, '0', 'r', 1)`); err == nil {
		t.Error("a duplicate gseq was accepted")
	}
}

func TestDB_EventsAfter(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	saveDeployment(t, db)
	dev := beginOpIn(t, db, "dev")   // dev#1 gseq 1 stack ""
	prod := beginOpIn(t, db, "prod") // prod#1 gseq 2 stack ""
	add := func(op *store.Operation, stack string, kind vocab.EventType) {
		appendEvent(t, db, &store.Event{OperationID: op.ID, Stack: stack, Kind: kind, Payload: json.RawMessage(`{}`)})
	}
	add(dev, "network", "engine")     // dev#2 g3
	add(prod, "network", "engine")    // prod#2 g4
	add(dev, "database", "engine")    // dev#3 g5
	add(dev, "database", "log")       // dev#4 g6
	add(prod, "database", "log")      // prod#3 g7
	add(dev, "", "log")               // dev#5 g8
	add(dev, "network", "diagnostic") // dev#6 g9

	name := map[string]string{dev.ID: "dev", prod.ID: "prod"}
	all, err := db.AllEventsAfter(ctx, 0, 0) // in gseq order, which is seq order per operation
	if err != nil || len(all) != 9 {
		t.Fatalf("AllEventsAfter: %d events, %v", len(all), err)
	}
	if page, err := db.AllEventsAfter(ctx, 6, 2); err != nil || !slices.Equal(gseqs(page), []int64{7, 8}) {
		t.Errorf("AllEventsAfter(6, 2) = %v, %v; want [7 8]", gseqs(page), err)
	}
	tests := []struct {
		name  string
		f     store.EventFilter
		after int64
		limit int
		want  []string // "dev#seq@gseq"
	}{
		{"operation", store.EventFilter{OperationID: dev.ID}, 0, 0,
			[]string{"dev#1@1", "dev#2@3", "dev#3@5", "dev#4@6", "dev#5@8", "dev#6@9"}},
		{"operation after and limit", store.EventFilter{OperationID: dev.ID}, 2, 2,
			[]string{"dev#3@5", "dev#4@6"}},
		{"operation stack keeps operation-level", store.EventFilter{OperationID: dev.ID, Stacks: []string{"database"}}, 0, 0,
			[]string{"dev#1@1", "dev#3@5", "dev#4@6", "dev#5@8"}},
		{"operation kinds", store.EventFilter{OperationID: dev.ID, Kinds: []string{"log", "diagnostic"}}, 0, 0,
			[]string{"dev#4@6", "dev#5@8", "dev#6@9"}},
		{"operation stack and kind", store.EventFilter{OperationID: dev.ID, Stacks: []string{"network"}, Kinds: []string{"engine", string(vocab.EventOperation)}}, 0, 0,
			[]string{"dev#1@1", "dev#2@3"}},
		{"operation of another deployment", store.EventFilter{OperationID: dev.ID, DeploymentID: "OTHER"}, 0, 0, nil},
		{"operation of another environment", store.EventFilter{OperationID: dev.ID, Environment: "prod"}, 0, 0, nil},
		{"deployment", store.EventFilter{DeploymentID: "D1BRV40"}, 0, 0,
			[]string{"dev#1@1", "prod#1@2", "dev#2@3", "prod#2@4", "dev#3@5", "dev#4@6", "prod#3@7", "dev#5@8", "dev#6@9"}},
		{"deployment after (global) and limit", store.EventFilter{DeploymentID: "D1BRV40"}, 4, 3,
			[]string{"dev#3@5", "dev#4@6", "prod#3@7"}},
		{"deployment environment", store.EventFilter{DeploymentID: "D1BRV40", Environment: "prod"}, 0, 0,
			[]string{"prod#1@2", "prod#2@4", "prod#3@7"}},
		{"deployment stacks", store.EventFilter{DeploymentID: "D1BRV40", Stacks: []string{"network"}}, 2, 0,
			[]string{"dev#2@3", "prod#2@4", "dev#5@8", "dev#6@9"}},
		{"deployment environment and kinds", store.EventFilter{DeploymentID: "D1BRV40", Environment: "dev", Kinds: []string{"log"}}, 0, 0,
			[]string{"dev#4@6", "dev#5@8"}},
		{"every deployment", store.EventFilter{}, 6, 0,
			[]string{"prod#3@7", "dev#5@8", "dev#6@9"}},
		{"every deployment, kinds and limit", store.EventFilter{Kinds: []string{"log", "diagnostic"}}, 0, 3,
			[]string{"dev#4@6", "prod#3@7", "dev#5@8"}},
		{"unknown deployment", store.EventFilter{DeploymentID: "NOPE"}, 0, 0, nil},
		{"unknown operation", store.EventFilter{OperationID: "op-nope"}, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := db.EventsAfter(ctx, tt.f, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				got = append(got, fmt.Sprintf("%s#%d@%d", name[e.OperationID], e.Seq, e.GlobalSeq))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
			// Match agrees with the SQL on every event.
			var matched []string
			for _, e := range all {
				if tt.f.Position(&e) > tt.after && tt.f.Match(&e) && (tt.limit <= 0 || len(matched) < tt.limit) {
					matched = append(matched, fmt.Sprintf("%s#%d@%d", name[e.OperationID], e.Seq, e.GlobalSeq))
				}
			}
			if !slices.Equal(matched, tt.want) {
				t.Errorf("Match selects %v\nwant        %v", matched, tt.want)
			}
		})
	}
	if _, err := db.EventsAfter(ctx, store.EventFilter{Environment: "dev"}, 0, 0); err == nil {
		t.Error("EventsAfter with an environment but no deployment succeeded")
	}
}

func TestDB_EventsChanged(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	saveDeployment(t, db)
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}

	ch := db.EventsChanged()
	if db.EventsChanged() != ch {
		t.Error("two calls before a commit returned different channels")
	}
	if closed(ch) {
		t.Fatal("EventsChanged closed before any event")
	}
	if err := db.SetEnvironmentEnabled(ctx, "D1BRV40", "prod", true); err != nil {
		t.Fatal(err)
	}
	if closed(ch) {
		t.Error("a write without events closed EventsChanged")
	}
	op := beginOp(t, db) // appends the operation's first event
	if !closed(ch) {
		t.Fatal("BeginOperation did not close EventsChanged")
	}

	ch = db.EventsChanged()
	if closed(ch) {
		t.Fatal("the next channel is already closed")
	}
	if err := db.AppendEvent(ctx, &store.Event{OperationID: op.ID, Kind: "x", Payload: []byte("{")}); err == nil {
		t.Fatal("invalid event appended")
	}
	if closed(ch) {
		t.Error("a rolled-back append closed EventsChanged")
	}
	// Another handle (another process) does not wake this one's waiters.
	db2, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	appendEvent(t, db2, &store.Event{OperationID: op.ID, Kind: "log"})
	if closed(ch) {
		t.Error("another handle's append closed EventsChanged")
	}

	// A waiter blocked on the channel is woken by a concurrent append.
	woke := make(chan struct{})
	go func() {
		<-ch
		close(woke)
	}()
	appendEvent(t, db, &store.Event{OperationID: op.ID, Kind: "log"})
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("waiter not woken by AppendEvent")
	}

	ch = db.EventsChanged()
	if err := db.FinishOperation(ctx, op.ID, vocab.OpSucceeded, "", nil); err != nil {
		t.Fatal(err)
	}
	if !closed(ch) {
		t.Error("FinishOperation did not close EventsChanged")
	}
	if err := db.AppendEvent(ctx, &store.Event{OperationID: "op-nope", Kind: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AppendEvent(unknown) = %v", err)
	}
}
