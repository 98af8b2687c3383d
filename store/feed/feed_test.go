package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/store/feed"
	"github.com/cloudplatform/cloud/vocab"
)

// guard bounds every wait: a failure guard, never a speed assertion.
const guard = 20 * time.Second

const depID = "D1FEED0"

// openStore opens a store in a fresh temporary directory with deployment
// depID (environments dev and prod, stacks network and database).
func openStore(t testing.TB) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "cloud.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	d := store.Deployment{ID: depID, Organization: "acme", Project: "shop", Template: "default", Backend: "file:///tmp/state"}
	envs := []store.Environment{{Name: "dev", Enabled: true}, {Name: "prod", Enabled: true}}
	stacks := []store.DeploymentStack{
		{Name: "network", Program: "network", Enabled: true},
		{Name: "database", Program: "database", Enabled: true, Dependencies: []string{"network"}, Layer: 1},
	}
	if _, _, err := db.SaveManifest(ctx, d, "deployment_id: "+depID+"\n", "alice", envs, stacks); err != nil {
		t.Fatalf("SaveManifest: %v", err)
	}
	return db, path
}

// reopen opens a second handle on the file, standing in for another process.
func reopen(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func beginOp(t testing.TB, db *store.DB, env string) *store.Operation {
	t.Helper()
	op := &store.Operation{DeploymentID: depID, Environment: env, Kind: "deploy", Actor: "alice", Command: "cloud deploy"}
	if err := db.BeginOperation(context.Background(), op); err != nil {
		t.Fatalf("BeginOperation(%s): %v", env, err)
	}
	return op
}

func appendEvent(t testing.TB, db *store.DB, opID, stack string, kind vocab.EventType) *store.Event {
	t.Helper()
	e := &store.Event{OperationID: opID, Stack: stack, Kind: kind, Payload: json.RawMessage(`{"n":1}`)}
	if err := db.AppendEvent(context.Background(), e); err != nil {
		t.Errorf("AppendEvent: %v", err)
	}
	return e
}

func newHub(t testing.TB, db *store.DB, opts feed.Options) *feed.Hub {
	t.Helper()
	h := feed.New(db, opts)
	t.Cleanup(h.Close)
	return h
}

func subscribe(t testing.TB, h *feed.Hub, f store.EventFilter, after int64) <-chan feed.Item {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := h.Subscribe(ctx, f, after)
	if err != nil {
		t.Fatalf("Subscribe(%+v, %d): %v", f, after, err)
	}
	return ch
}

// receive takes n events from ch, failing on an Overflow, a close or the guard.
func receive(t testing.TB, ch <-chan feed.Item, n int) []store.Event {
	t.Helper()
	var out []store.Event
	deadline := time.After(guard)
	for len(out) < n {
		select {
		case it, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d events", len(out), n)
			}
			if it.Overflow != nil {
				t.Fatalf("overflow %+v after %d of %d events", *it.Overflow, len(out), n)
			}
			out = appendEvents(out, it)
		case <-deadline:
			t.Fatalf("received %d of %d events before the guard expired", len(out), n)
		}
	}
	return out
}

// receiveAll takes items from ch until it closes.
func receiveAll(t testing.TB, ch <-chan feed.Item) (evs []store.Event, overflow *feed.Overflow) {
	t.Helper()
	deadline := time.After(guard)
	for {
		select {
		case it, ok := <-ch:
			if !ok {
				return evs, overflow
			}
			if overflow != nil {
				t.Fatalf("item after the overflow: %+v", it)
			}
			if it.Overflow != nil {
				overflow = it.Overflow
				continue
			}
			if len(it.Events) == 0 {
				t.Fatalf("item with neither events nor an overflow: %+v", it)
			}
			evs = appendEvents(evs, it)
		case <-deadline:
			t.Fatalf("channel not closed before the guard expired (%d events received)", len(evs))
		}
	}
}

// expectNext fails unless the next item of ch is the event want, which
// was just appended: it proves nothing else (a duplicate) was queued.
func expectNext(t testing.TB, ch <-chan feed.Item, want *store.Event) {
	t.Helper()
	got := receive(t, ch, 1)[0]
	if got.OperationID != want.OperationID || got.Seq != want.Seq {
		t.Fatalf("next event %s/%d (g%d), want %s/%d (g%d)", got.OperationID, got.Seq, got.GlobalSeq,
			want.OperationID, want.Seq, want.GlobalSeq)
	}
}

func positions(f store.EventFilter, evs []store.Event) []int64 {
	var out []int64
	for i := range evs {
		out = append(out, f.Position(&evs[i]))
	}
	return out
}

func run(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// publish appends n events per writer from writers goroutines, spread over
// ops and stacks, and waits for them.
func publish(t testing.TB, db *store.DB, ops []*store.Operation, writers, n int) {
	t.Helper()
	stacks := []string{"network", "database", ""}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				appendEvent(t, db, ops[(w+i)%len(ops)].ID, stacks[i%len(stacks)], []vocab.EventType{vocab.EventEngine, vocab.EventLog}[i%2])
			}
		}()
	}
	wg.Wait()
}

func TestHub_CatchUpThenLive(t *testing.T) {
	db, _ := openStore(t)
	dev, prod := beginOp(t, db, "dev"), beginOp(t, db, "prod")
	ops := []*store.Operation{dev, prod}
	publish(t, db, ops, 1, 50) // stored before anyone subscribes
	// Small buffers and batches, so catching up takes many reads; no
	// polling, so live events come through EventsChanged.
	h := newHub(t, db, feed.Options{Buffer: 16, Batch: 7, PollInterval: -1})
	f := store.EventFilter{DeploymentID: depID}
	ch := subscribe(t, h, f, 0)

	wait := background(t, func() { publish(t, db, ops, 4, 100) }) // while the subscriber catches up
	const total = 2 + 50 + 400
	got := receive(t, ch, total)
	wait()
	if p := positions(f, got); !slices.Equal(p, run(1, total)) {
		t.Fatalf("global seqs %v, want 1…%d in order", p, total)
	}
	stored, err := db.EventsAfter(context.Background(), f, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stored {
		if got[i].OperationID != stored[i].OperationID || got[i].Seq != stored[i].Seq || string(got[i].Payload) != string(stored[i].Payload) {
			t.Fatalf("event %d: got %s/%d, stored %s/%d", i, got[i].OperationID, got[i].Seq, stored[i].OperationID, stored[i].Seq)
		}
	}
	expectNext(t, ch, appendEvent(t, db, dev.ID, "network", "engine"))
	// Delivered counts a send once it completed, which may be just after
	// the receive: the last one may not be counted yet.
	if st := h.Stats(); st.Subscribers != 1 || st.Delivered < total || st.Overflows != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestHub_Resume(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	dev, prod := beginOp(t, db, "dev"), beginOp(t, db, "prod")
	publish(t, db, []*store.Operation{dev, prod}, 1, 40)
	h := newHub(t, db, feed.Options{Batch: 5, PollInterval: -1})

	dep := store.EventFilter{DeploymentID: depID}
	last, err := db.LastGlobalSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch := subscribe(t, h, dep, 17)
	if p := positions(dep, receive(t, ch, int(last-17))); !slices.Equal(p, run(18, last)) {
		t.Fatalf("resumed deployment stream %v, want 18…%d", p, last)
	}
	expectNext(t, ch, appendEvent(t, db, prod.ID, "", "log"))

	op := store.EventFilter{OperationID: dev.ID}
	o, err := db.Operation(ctx, dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch = subscribe(t, h, op, 9)
	if p := positions(op, receive(t, ch, int(o.LastSeq-9))); !slices.Equal(p, run(10, o.LastSeq)) {
		t.Fatalf("resumed operation stream %v, want 10…%d", p, o.LastSeq)
	}
	expectNext(t, ch, appendEvent(t, db, dev.ID, "network", "log"))

	// A position beyond the end waits for the next event.
	ch = subscribe(t, h, dep, last+1000)
	select {
	case it := <-ch:
		t.Fatalf("got %+v after the end", it)
	default:
	}
}

func TestHub_OperationStreamEnds(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	h := newHub(t, db, feed.Options{Buffer: 8, Batch: 3, PollInterval: -1})

	t.Run("live", func(t *testing.T) {
		op := beginOp(t, db, "dev")
		f := store.EventFilter{OperationID: op.ID}
		ch := subscribe(t, h, f, 0)
		// Filtered so that it never sees an operation.status event.
		engine := store.EventFilter{OperationID: op.ID, Kinds: []string{"engine"}}
		engineCh := subscribe(t, h, engine, 0)
		receive(t, ch, 1) // the operation's first status
		background(t, func() {
			for i := 0; i < 20; i++ {
				appendEvent(t, db, op.ID, "network", "engine")
			}
			now := time.Now()
			if err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: "network", Status: "deployed", StartedAt: &now},
				&store.StackState{Status: "deployed"}, &store.Event{Kind: vocab.EventStack}); err != nil {
				t.Error(err)
			}
			if err := db.FinishOperation(ctx, op.ID, vocab.OpSucceeded, "", nil); err != nil {
				t.Error(err)
			}
		})
		evs, overflow := receiveAll(t, ch)
		if overflow != nil {
			t.Fatalf("overflow %+v", *overflow)
		}
		if p := positions(f, evs); !slices.Equal(p, run(2, 23)) {
			t.Fatalf("seqs %v, want 2…23 then the end", p)
		}
		if last := evs[len(evs)-1]; last.Kind != vocab.EventOperation || string(last.Payload) != `{"status":"succeeded"}` {
			t.Errorf("last event %s %s, want the finishing operation.status", last.Kind, last.Payload)
		}
		evs, overflow = receiveAll(t, engineCh)
		if overflow != nil || !slices.Equal(positions(engine, evs), run(2, 21)) {
			t.Fatalf("engine events %v (overflow %v), want 2…21 then the end", positions(engine, evs), overflow)
		}
	})

	t.Run("already finished", func(t *testing.T) {
		op := beginOp(t, db, "dev")
		for i := 0; i < 10; i++ {
			appendEvent(t, db, op.ID, []string{"network", "database"}[i%2], "engine")
		}
		if err := db.FinishOperation(ctx, op.ID, vocab.OpFailed, "boom", nil); err != nil {
			t.Fatal(err)
		}
		f := store.EventFilter{OperationID: op.ID}
		evs, overflow := receiveAll(t, subscribe(t, h, f, 2))
		if overflow != nil || !slices.Equal(positions(f, evs), run(3, 12)) {
			t.Fatalf("seqs %v (overflow %v), want 3…12", positions(f, evs), overflow)
		}
		// The last event ends a full batch read from the store (Batch is
		// 3), and the window, which holds them all, has nothing after it.
		evs, overflow = receiveAll(t, subscribe(t, h, f, 9))
		if overflow != nil || !slices.Equal(positions(f, evs), run(10, 12)) {
			t.Fatalf("seqs %v (overflow %v), want 10…12", positions(f, evs), overflow)
		}
		// Filtered: the stack's events and the operation-level ones.
		f.Stacks = []string{"database"}
		evs, _ = receiveAll(t, subscribe(t, h, f, 0))
		if p := positions(f, evs); !slices.Equal(p, []int64{1, 3, 5, 7, 9, 11, 12}) {
			t.Fatalf("database stack seqs %v", p)
		}
		// Filtered to nothing after the position: closes at once.
		f.Stacks, f.Kinds = nil, []string{"nothing"}
		if evs, _ = receiveAll(t, subscribe(t, h, f, 0)); len(evs) != 0 {
			t.Fatalf("got %d events", len(evs))
		}
		// After its last event: closes at once.
		if evs, _ = receiveAll(t, subscribe(t, h, store.EventFilter{OperationID: op.ID}, 12)); len(evs) != 0 {
			t.Fatalf("got %d events", len(evs))
		}
	})

	t.Run("unknown", func(t *testing.T) {
		_, err := h.Subscribe(ctx, store.EventFilter{OperationID: "op-nope"}, 0)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Subscribe(unknown operation) = %v, want ErrNotFound", err)
		}
		if _, err := h.Subscribe(ctx, store.EventFilter{Environment: "dev"}, 0); err == nil {
			t.Error("Subscribe without an operation or deployment succeeded")
		}
	})
}

func TestHub_Filters(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	dev, prod := beginOp(t, db, "dev"), beginOp(t, db, "prod")
	ops := []*store.Operation{dev, prod}
	publish(t, db, ops, 1, 30)
	h := newHub(t, db, feed.Options{Buffer: 8, Batch: 4, PollInterval: -1})

	filters := []store.EventFilter{
		{DeploymentID: depID, Stacks: []string{"database"}},
		{DeploymentID: depID, Kinds: []string{"log"}},
		{DeploymentID: depID, Environment: "prod", Stacks: []string{"network"}, Kinds: []string{"engine", string(vocab.EventOperation)}},
		{OperationID: dev.ID, Stacks: []string{"network"}, Kinds: []string{"engine"}},
		{Kinds: []string{"log", string(vocab.EventOperation)}}, // every deployment
	}
	chans := make([]<-chan feed.Item, len(filters))
	for i, f := range filters {
		chans[i] = subscribe(t, h, f, 0)
	}
	publish(t, db, ops, 3, 60) // while subscribed
	for i, f := range filters {
		want, err := db.EventsAfter(ctx, f, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := receive(t, chans[i], len(want))
		if !slices.Equal(positions(f, got), positions(f, want)) {
			t.Errorf("%+v:\ngot  %v\nwant %v", f, positions(f, got), positions(f, want))
		}
		for _, e := range got {
			if len(f.Stacks) > 0 && e.Stack != "" && !slices.Contains(f.Stacks, e.Stack) ||
				len(f.Kinds) > 0 && !slices.Contains(f.Kinds, string(e.Kind)) ||
				f.Environment != "" && e.Environment != f.Environment {
				t.Errorf("%+v let through %s/%d %s %s in %s", f, e.OperationID, e.Seq, e.Stack, e.Kind, e.Environment)
			}
		}
	}
	// Nothing else was queued: the next matching event comes next.
	expectNext(t, chans[0], appendEvent(t, db, prod.ID, "database", "x"))
	expectNext(t, chans[2], appendEvent(t, db, prod.ID, "network", "engine"))
}

func TestHub_SlowSubscriber(t *testing.T) {
	db, _ := openStore(t)
	op := beginOp(t, db, "dev") // gseq 1
	h := newHub(t, db, feed.Options{Buffer: 16, Batch: 8, SlowTimeout: 250 * time.Millisecond, PollInterval: -1})
	f := store.EventFilter{DeploymentID: depID}

	fast := subscribe(t, h, f, 0)
	slow := subscribe(t, h, f, 0)
	never := subscribe(t, h, f, 0) // takes nothing at all

	const n = 300
	fastGot := collect(fast, n+1)
	wait := background(t, func() { publish(t, db, []*store.Operation{op}, 1, n) })
	// The slow one takes a few events, then stops.
	took := receive(t, slow, 5)
	// The fast one gets everything while the other two stall.
	r := <-fastGot
	if r.err != nil {
		t.Fatalf("fast subscriber: %v", r.err)
	}
	if p := positions(f, r.evs); !slices.Equal(p, run(1, n+1)) {
		t.Fatalf("fast subscriber got %v", p)
	}
	wait()

	// The stalled ones are cut off, with the position of the last event
	// they took. Any event still ahead of the overflow was taken too.
	waitFor(t, "two overflows", func() bool { return h.Stats().Overflows == 2 })
	rest, overflow := receiveAll(t, slow)
	if overflow == nil || overflow.Reason != feed.ReasonSlow {
		t.Fatalf("slow subscriber ended with %+v, want an overflow", overflow)
	}
	took = append(took, rest...)
	if p := positions(f, took); !slices.Equal(p, run(1, int64(len(took)))) {
		t.Fatalf("slow subscriber took %v", p)
	}
	if want := took[len(took)-1].GlobalSeq; overflow.ResumeAfter != want {
		t.Fatalf("ResumeAfter = %d, want %d (the last event taken)", overflow.ResumeAfter, want)
	}
	// Resuming there yields exactly the rest.
	resumed := receive(t, subscribe(t, h, f, overflow.ResumeAfter), n+1-len(took))
	all := append(took, resumed...)
	if p := positions(f, all); !slices.Equal(p, run(1, n+1)) {
		t.Fatalf("taken then resumed: %v", p)
	}

	evs, overflow := receiveAll(t, never)
	if len(evs) != 0 || overflow == nil || overflow.ResumeAfter != 0 {
		t.Fatalf("never-reading subscriber: %d events, overflow %+v; want only an overflow resuming after 0", len(evs), overflow)
	}
	if st := h.Stats(); st.Overflows != 2 || st.Subscribers != 2 {
		t.Errorf("Stats = %+v, want 2 overflows and 2 subscribers left", st)
	}
	// The fast subscriber is still live.
	expectNext(t, fast, appendEvent(t, db, op.ID, "", "log"))
}

// waitFor polls cond until it holds, failing at the guard.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s before the guard expired", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// background runs fn in a goroutine and returns a function that waits for
// it; the test waits for it too before its cleanups close the store.
func background(t testing.TB, fn func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	wait = func() { <-done }
	t.Cleanup(wait)
	return wait
}

type collected struct {
	evs []store.Event
	err error
}

// collect receives n events from ch in a goroutine of its own.
func collect(ch <-chan feed.Item, n int) <-chan collected {
	res := make(chan collected, 1)
	go func() {
		var r collected
		deadline := time.After(guard)
		for len(r.evs) < n && r.err == nil {
			select {
			case it, ok := <-ch:
				switch {
				case !ok:
					r.err = fmt.Errorf("closed after %d of %d events", len(r.evs), n)
				case it.Overflow != nil:
					r.err = fmt.Errorf("overflow %+v after %d of %d events", *it.Overflow, len(r.evs), n)
				default:
					r.evs = appendEvents(r.evs, it)
				}
			case <-deadline:
				r.err = fmt.Errorf("%d of %d events before the guard expired", len(r.evs), n)
			}
		}
		res <- r
	}()
	return res
}

func TestHub_OtherProcess(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	other := reopen(t, path) // its commits do not wake db's EventsChanged
	h := newHub(t, db, feed.Options{PollInterval: 10 * time.Millisecond})

	dep := store.EventFilter{DeploymentID: depID, Environment: "dev"}
	ch := subscribe(t, h, dep, 0)
	op := beginOp(t, other, "dev")
	opCh := subscribe(t, h, store.EventFilter{OperationID: op.ID}, 0)
	background(t, func() {
		for i := 0; i < 30; i++ {
			appendEvent(t, other, op.ID, "network", "engine")
		}
		if err := other.FinishOperation(ctx, op.ID, vocab.OpSucceeded, "", nil); err != nil {
			t.Error(err)
		}
	})
	if p := positions(dep, receive(t, ch, 32)); !slices.Equal(p, run(1, 32)) {
		t.Fatalf("deployment stream %v", p)
	}
	evs, overflow := receiveAll(t, opCh)
	if overflow != nil || len(evs) != 32 {
		t.Fatalf("operation stream: %d events, overflow %v; want 32 then the end", len(evs), overflow)
	}
}

// TestHub_OutOfWindow follows a subscriber that falls out of the hub's
// window of recent events: it goes back to the store, without a gap.
func TestHub_OutOfWindow(t *testing.T) {
	db, path := openStore(t)
	other := reopen(t, path)
	op := beginOp(t, db, "dev")
	h := newHub(t, db, feed.Options{Window: 8, Buffer: 4, Batch: 3, PollInterval: 5 * time.Millisecond})
	f := store.EventFilter{DeploymentID: depID}

	// Subscribed but not reading while 100 events are appended: the pump
	// is soon far behind the window.
	ch := subscribe(t, h, f, 0)
	publish(t, db, []*store.Operation{op}, 1, 100)
	if p := positions(f, receive(t, ch, 101)); !slices.Equal(p, run(1, 101)) {
		t.Fatalf("got %v", p)
	}
	expectNext(t, ch, appendEvent(t, db, op.ID, "", "log")) // 102

	// Another process appends 50 more while it is subscribed but not
	// reading.
	publish(t, other, []*store.Operation{op}, 1, 50) // 103…152
	if p := positions(f, receive(t, ch, 50)); !slices.Equal(p, run(103, 152)) {
		t.Fatalf("got %v", p)
	}
	if p := positions(f, receive(t, subscribe(t, h, f, 102), 50)); !slices.Equal(p, run(103, 152)) {
		t.Fatalf("resumed subscriber got %v", p)
	}
}

// TestHub_IdleTail checks a hub whose subscribers all left while another
// process wrote far more than the window: the next subscriber gets
// everything, from the store then the restarted window.
func TestHub_IdleTail(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	other := reopen(t, path)
	op := beginOp(t, db, "dev")
	h := newHub(t, db, feed.Options{Window: 8, Batch: 5, PollInterval: 5 * time.Millisecond})
	f := store.EventFilter{DeploymentID: depID}

	cctx, cancel := context.WithCancel(ctx)
	ch, err := h.Subscribe(cctx, f, 0)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, ch, 1)
	cancel()
	receiveAll(t, ch)
	publish(t, other, []*store.Operation{op}, 1, 60) // 2…61, nobody subscribed
	ch = subscribe(t, h, f, 1)
	if p := positions(f, receive(t, ch, 60)); !slices.Equal(p, run(2, 61)) {
		t.Fatalf("got %v", p)
	}
	publish(t, other, []*store.Operation{op}, 1, 30) // 62…91, live, by polling
	if p := positions(f, receive(t, ch, 30)); !slices.Equal(p, run(62, 91)) {
		t.Fatalf("got %v", p)
	}
	expectNext(t, ch, appendEvent(t, db, op.ID, "", "log"))
}

func TestHub_CloseAndCancel(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	op := beginOp(t, db, "dev")
	h := feed.New(db, feed.Options{PollInterval: 5 * time.Millisecond})

	cctx, cancel := context.WithCancel(ctx)
	cancelled, err := h.Subscribe(cctx, store.EventFilter{DeploymentID: depID}, 0)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, cancelled, 1)
	cancel()
	if evs, overflow := receiveAll(t, cancelled); len(evs) != 0 || overflow != nil {
		t.Fatalf("after cancel: %d events, overflow %v", len(evs), overflow)
	}

	var chans []<-chan feed.Item
	for _, f := range []store.EventFilter{{DeploymentID: depID}, {DeploymentID: depID, Stacks: []string{"x"}}, {OperationID: op.ID}} {
		chans = append(chans, subscribe(t, h, f, 0))
	}
	for _, ch := range chans {
		receive(t, ch, 1)
	}
	if st := h.Stats(); st.Subscribers != 3 {
		t.Errorf("Subscribers = %d, want 3", st.Subscribers)
	}
	h.Close()
	for i, ch := range chans {
		if evs, overflow := receiveAll(t, ch); len(evs) != 0 || overflow != nil {
			t.Errorf("subscription %d after Close: %d events, overflow %v", i, len(evs), overflow)
		}
	}
	if st := h.Stats(); st.Subscribers != 0 {
		t.Errorf("Subscribers after Close = %d", st.Subscribers)
	}
	if _, err := h.Subscribe(ctx, store.EventFilter{DeploymentID: depID}, 0); !errors.Is(err, feed.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	h.Close() // idempotent
}

// TestHub_ManySubscribers checks many concurrent subscribers with
// different positions all get their exact suffix.
func TestHub_ManySubscribers(t *testing.T) {
	db, _ := openStore(t)
	op := beginOp(t, db, "dev")
	publish(t, db, []*store.Operation{op}, 1, 100)
	h := newHub(t, db, feed.Options{Buffer: 4, Batch: 3, PollInterval: -1})
	f := store.EventFilter{DeploymentID: depID}
	const subs, more = 20, 100
	chans := make([]<-chan feed.Item, subs)
	for i := range chans {
		chans[i] = subscribe(t, h, f, int64(i*5))
	}
	publish(t, db, []*store.Operation{op}, 2, more/2)
	// Each pump waits for its own consumer only, so reading them one
	// after the other is fine.
	for i, ch := range chans {
		want := run(int64(i*5)+1, 101+more)
		if p := positions(f, receive(t, ch, len(want))); !slices.Equal(p, want) {
			t.Errorf("subscriber %d: %v", i, p)
		}
	}
}

// TestHub_Stress runs two writers (two handles on one file, as two
// processes) starting and finishing operations while subscribers with
// assorted filters and positions join, some of them taking events slowly,
// with a window, buffer and batch small enough that they keep switching
// between the store and the window. Every subscriber must end up with
// exactly what the store holds for its filter.
func TestHub_Stress(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	other := reopen(t, path)
	h := newHub(t, db, feed.Options{Window: 16, Buffer: 4, Batch: 3, PollInterval: 5 * time.Millisecond})

	type sub struct {
		f     store.EventFilter
		after int64
		mu    sync.Mutex
		got   []store.Event
		ended bool // the channel closed
		bad   string
	}
	var subsMu sync.Mutex
	var subs []*sub
	var consumers sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		consumers.Wait()
	}()
	start := func(f store.EventFilter, after int64, slow bool) {
		ch, err := h.Subscribe(cctx, f, after)
		if err != nil {
			t.Errorf("Subscribe: %v", err)
			return
		}
		s := &sub{f: f, after: after}
		subsMu.Lock()
		subs = append(subs, s)
		subsMu.Unlock()
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			for it := range ch {
				s.mu.Lock()
				if it.Overflow != nil {
					s.bad = fmt.Sprintf("overflow %+v", *it.Overflow)
				} else {
					s.got = appendEvents(s.got, it)
				}
				n := len(s.got)
				s.mu.Unlock()
				if slow && n%5 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			s.mu.Lock()
			s.ended = true
			s.mu.Unlock()
		}()
	}

	filters := []store.EventFilter{
		{DeploymentID: depID},
		{DeploymentID: depID, Environment: "prod"},
		{DeploymentID: depID, Stacks: []string{"database"}},
		{DeploymentID: depID, Environment: "dev", Kinds: []string{"log", string(vocab.EventOperation)}},
		{DeploymentID: depID, Stacks: []string{"network"}, Kinds: []string{"engine"}},
	}
	for i, f := range filters {
		start(f, 0, i%2 == 1)
	}

	const opsPerWriter = 10
	var writers sync.WaitGroup
	for w, handle := range []*store.DB{db, other} {
		env := []string{"dev", "prod"}[w]
		writers.Add(1)
		go func() {
			defer writers.Done()
			for k := 0; k < opsPerWriter; k++ {
				op := &store.Operation{DeploymentID: depID, Environment: env, Kind: "deploy"}
				if err := handle.BeginOperation(ctx, op); err != nil {
					t.Errorf("BeginOperation: %v", err)
					return
				}
				// Follow it from the start, and (on one writer) from
				// the middle of the deployment's history.
				start(store.EventFilter{OperationID: op.ID}, 0, k%2 == 0)
				start(store.EventFilter{OperationID: op.ID, Stacks: []string{"network"}, Kinds: []string{"engine", string(vocab.EventOperation)}}, 1, false)
				if w == 0 {
					if last, err := db.LastGlobalSeq(ctx); err == nil {
						start(filters[k%len(filters)], last/2, k%3 == 0)
					}
				}
				for i := 0; i < 5+k*3; i++ {
					appendEvent(t, handle, op.ID, []string{"network", "database", ""}[i%3], []vocab.EventType{vocab.EventEngine, vocab.EventLog}[(i+k)%2])
				}
				if err := handle.FinishOperation(ctx, op.ID, vocab.OpSucceeded, "", nil); err != nil {
					t.Errorf("FinishOperation: %v", err)
				}
			}
		}()
	}
	writers.Wait()

	subsMu.Lock()
	defer subsMu.Unlock()
	deadline := time.Now().Add(guard)
	for i, s := range subs {
		want, err := db.EventsAfter(ctx, s.f, s.after, 0)
		if err != nil {
			t.Fatal(err)
		}
		for {
			s.mu.Lock()
			n, ended, bad := len(s.got), s.ended, s.bad
			got := append([]store.Event(nil), s.got...)
			s.mu.Unlock()
			if bad != "" {
				t.Fatalf("subscriber %d (%+v after %d): %s", i, s.f, s.after, bad)
			}
			opDone := !s.f.ByOperation() || ended
			if n >= len(want) && opDone {
				if !slices.Equal(positions(s.f, got), positions(s.f, want)) {
					t.Fatalf("subscriber %d (%+v after %d):\ngot  %v\nwant %v", i, s.f, s.after, positions(s.f, got), positions(s.f, want))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("subscriber %d (%+v after %d): %d of %d events, ended %v", i, s.f, s.after, n, len(want), ended)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// appendEvents appends the events of one item.
func appendEvents(evs []store.Event, it feed.Item) []store.Event {
	for _, e := range it.Events {
		evs = append(evs, *e)
	}
	return evs
}
