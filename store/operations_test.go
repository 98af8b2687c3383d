package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

func TestDB_BeginOperation(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	saveDeployment(t, db)
	op := beginOp(t, db)

	pid, start, host := store.ProcessIdentity()
	if op.ID == "" || op.Status != vocab.OpRunning || op.PID != pid || op.PIDStart != start || op.Host != host {
		t.Errorf("BeginOperation filled %+v", op)
	}
	got, err := db.Operation(ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Actor != "alice" || got.LastSeq != 1 || got.FinishedAt != nil {
		t.Errorf("Operation = %+v", got)
	}

	t.Run("busy", func(t *testing.T) {
		err := db.BeginOperation(ctx, &store.Operation{DeploymentID: "D1BRV40", Environment: "dev", Kind: "destroy", Actor: "bob"})
		if !errors.Is(err, store.ErrBusy) {
			t.Fatalf("second BeginOperation = %v, want ErrBusy", err)
		}
		var busy *store.BusyError
		if !errors.As(err, &busy) || busy.Holder.ID != op.ID {
			t.Fatalf("error %v does not carry the holder %s", err, op.ID)
		}
		for _, want := range []string{op.ID, "alice", host, strconv.Itoa(pid)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})

	t.Run("other environment is free", func(t *testing.T) {
		other := &store.Operation{DeploymentID: "D1BRV40", Environment: "prod", Kind: "preview"}
		if err := db.BeginOperation(ctx, other); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unknown deployment", func(t *testing.T) {
		err := db.BeginOperation(ctx, &store.Operation{DeploymentID: "DNOPE00", Environment: "dev", Kind: "deploy"})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("BeginOperation = %v, want ErrNotFound", err)
		}
	})

	t.Run("finish frees the environment", func(t *testing.T) {
		if err := db.FinishOperation(ctx, op.ID, vocab.OpFailed, "boom", map[string]any{"failed": float64(1)}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Operation(ctx, op.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != vocab.OpFailed || got.Error != "boom" || got.FinishedAt == nil || got.Summary["failed"] != float64(1) {
			t.Errorf("finished operation = %+v", got)
		}
		next := &store.Operation{DeploymentID: "D1BRV40", Environment: "dev", Kind: "deploy"}
		if err := db.BeginOperation(ctx, next); err != nil {
			t.Fatalf("BeginOperation after finish: %v", err)
		}
		if err := db.FinishOperation(ctx, next.ID, "running", "", nil); err == nil {
			t.Error("FinishOperation with a non-final status succeeded")
		}
	})

	t.Run("listing", func(t *testing.T) {
		ops, err := db.Operations(ctx, "D1BRV40", "dev", 0)
		if err != nil || len(ops) != 2 {
			t.Fatalf("Operations(dev) = %d, %v; want 2", len(ops), err)
		}
		if ops[1].ID != op.ID {
			t.Errorf("Operations not newest first: %s, %s", ops[0].ID, ops[1].ID)
		}
		all, _ := db.Operations(ctx, "D1BRV40", "", 0)
		if len(all) != 3 {
			t.Errorf("Operations(all) = %d, want 3", len(all))
		}
		last, err := db.LastOperation(ctx, "D1BRV40", "", "preview")
		if err != nil || last.Environment != "prod" {
			t.Errorf("LastOperation(preview) = %+v, %v", last, err)
		}
		if _, err := db.LastOperation(ctx, "D1BRV40", "dev", "rollback"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LastOperation(rollback) = %v, want ErrNotFound", err)
		}
	})
}

func TestDB_Transition(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	saveDeployment(t, db)
	op := beginOp(t, db)

	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: "network", Status: "deploying", StartedAt: &start},
		&store.StackState{Status: "deploying"},
		&store.Event{Kind: vocab.EventStack, Payload: json.RawMessage(`{"status":"deploying"}`)})
	if err != nil {
		t.Fatal(err)
	}
	end := start.Add(time.Minute)
	err = db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: "network", Status: "deployed", FinishedAt: &end,
		Changes: map[string]int{"create": 3}, ResourceCount: 3},
		&store.StackState{Status: "deployed", ResourceCount: 3, ConfigHash: "abc"},
		&store.Event{Kind: vocab.EventStack, Payload: json.RawMessage(`{"status":"deployed"}`)})
	if err != nil {
		t.Fatal(err)
	}
	// A transition without a state change leaves the state alone.
	if err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: "database", Status: "pending"}, nil, nil); err != nil {
		t.Fatal(err)
	}

	stacks, err := db.OperationStacks(ctx, op.ID)
	if err != nil || len(stacks) != 2 {
		t.Fatalf("OperationStacks = %+v, %v", stacks, err)
	}
	n := stacks[0]
	if n.Stack != "network" || n.Status != "deployed" || n.StartedAt == nil || !n.StartedAt.Equal(start) ||
		n.FinishedAt == nil || n.Changes["create"] != 3 || n.ResourceCount != 3 {
		t.Errorf("network result = %+v", n)
	}
	st, err := db.StackState(ctx, "D1BRV40", "dev", "network")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "deployed" || st.LastOperationID != op.ID || st.ConfigHash != "abc" || st.ResourceCount != 3 {
		t.Errorf("StackState = %+v", st)
	}
	if _, err := db.StackState(ctx, "D1BRV40", "dev", "database"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("StackState(database) = %v, want ErrNotFound", err)
	}
	states, _ := db.StackStates(ctx, "D1BRV40", "")
	if len(states) != 1 {
		t.Errorf("StackStates = %d, want 1", len(states))
	}
	evs, err := db.Events(ctx, op.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[2].Stack != "network" || evs[2].Environment != "dev" || string(evs[2].Payload) != `{"status":"deployed"}` {
		t.Errorf("events = %+v", evs)
	}
	if err := db.Transition(ctx, store.OperationStack{OperationID: "op-nope", Stack: "x"}, nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Transition(unknown op) = %v, want ErrNotFound", err)
	}
}
