package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"testing"

	"github.com/cloudplatform/cloud/store"
)

func TestDB_AppendEvent(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	saveDeployment(t, db)
	op := beginOp(t, db) // event 1: operation.status running

	for i := 0; i < 10; i++ {
		e := &store.Event{OperationID: op.ID, Stack: "network", Kind: "engine.resource", Payload: json.RawMessage(`{"i":1}`)}
		if err := db.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		if got, want := e.Seq, int64(i+2); got != want {
			t.Fatalf("seq = %d, want %d", got, want)
		}
		if e.DeploymentID != "D1BRV40" || e.Environment != "dev" || e.Time.IsZero() {
			t.Errorf("event defaults not filled: %+v", e)
		}
	}
	evs, err := db.Events(ctx, op.ID, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Seq != 6 || evs[2].Seq != 8 {
		t.Errorf("Events(after 5, 3) seqs = %v", seqs(evs))
	}
	last, err := db.LastEvents(ctx, op.ID, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(last); len(got) != 4 || got[0] != 8 || got[3] != 11 {
		t.Errorf("LastEvents(4) seqs = %v, want [8 9 10 11]", got)
	}
	o, _ := db.Operation(ctx, op.ID)
	if o.LastSeq != 11 {
		t.Errorf("LastSeq = %d, want 11", o.LastSeq)
	}
	dep, err := db.DeploymentEvents(ctx, "D1BRV40", "dev", evs[0].Time.Add(-1), 0)
	if err != nil || len(dep) == 0 {
		t.Errorf("DeploymentEvents = %d, %v", len(dep), err)
	}

	if err := db.AppendEvent(ctx, &store.Event{OperationID: "op-nope", Kind: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AppendEvent(unknown op) = %v, want ErrNotFound", err)
	}
	if err := db.AppendEvent(ctx, &store.Event{OperationID: op.ID, Kind: "x", Payload: []byte("{")}); err == nil {
		t.Error("AppendEvent with invalid JSON succeeded")
	}
}

func TestDB_AppendEvent_Concurrent(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	saveDeployment(t, db)
	op := beginOp(t, db)
	// A second handle on the same file stands in for a second process.
	db2, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	handles := []*store.DB{db, db2}

	const goroutines, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	got := make(chan int64, goroutines*each)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(h *store.DB) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				e := &store.Event{OperationID: op.ID, Kind: "log"}
				if err := h.AppendEvent(ctx, e); err != nil {
					errs <- err
					return
				}
				got <- e.Seq
			}
		}(handles[g%2])
	}
	wg.Wait()
	close(errs)
	close(got)
	for err := range errs {
		t.Fatal(err)
	}
	var assigned []int64
	for s := range got {
		assigned = append(assigned, s)
	}
	sort.Slice(assigned, func(i, j int) bool { return assigned[i] < assigned[j] })
	for i, s := range assigned {
		if want := int64(i + 2); s != want {
			t.Fatalf("assigned seq %d at position %d, want %d (unique and gapless)", s, i, want)
		}
	}
	stored, err := db.Events(ctx, op.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range stored {
		if e.Seq != int64(i+1) {
			t.Fatalf("stored seq %d at position %d, want %d", e.Seq, i, i+1)
		}
	}
	entries, err := db.Outbox(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].HLC <= entries[i-1].HLC {
			t.Fatalf("outbox %d: HLC %s not after %s across two handles", entries[i].Seq, entries[i].HLC, entries[i-1].HLC)
		}
	}
	if len(stored) != goroutines*each+1 {
		t.Errorf("stored %d events, want %d", len(stored), goroutines*each+1)
	}
}

func seqs(evs []store.Event) []int64 {
	var out []int64
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}
