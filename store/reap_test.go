package store_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// deadPID returns the pid of a child process that has exited and been
// waited for.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "0")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run sleep: %v", err)
	}
	return cmd.Process.Pid
}

func TestDB_ReapInterrupted(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	saveDeployment(t, db)
	_, myStart, host := store.ProcessIdentity()
	pid := deadPID(t)

	// Another host's operation is never touched.
	remote := &store.Operation{DeploymentID: "D1BRV40", Environment: "stage", Kind: "deploy",
		Host: "elsewhere.example", PID: pid}
	if err := db.BeginOperation(ctx, remote); err != nil {
		t.Fatal(err)
	}
	// A live operation of this process is not reaped.
	live := &store.Operation{DeploymentID: "D1BRV40", Environment: "qa", Kind: "preview"}
	if err := db.BeginOperation(ctx, live); err != nil {
		t.Fatal(err)
	}

	dead := &store.Operation{DeploymentID: "D1BRV40", Environment: "dev", Kind: "deploy", Actor: "alice",
		Host: host, PID: pid, PIDStart: "12345"}
	if err := db.BeginOperation(ctx, dead); err != nil {
		t.Fatal(err)
	}
	for stack, status := range map[string]vocab.StackStatus{"network": vocab.StackDeployed, "database": vocab.StackDeploying} {
		err := db.Transition(ctx, store.OperationStack{OperationID: dead.ID, Stack: stack, Status: status},
			&store.StackState{Status: status}, &store.Event{Kind: vocab.EventStack})
		if err != nil {
			t.Fatal(err)
		}
	}
	reaped, err := db.ReapInterrupted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{dead.ID}; !slices.Equal(reaped, want) {
		t.Fatalf("reaped %v, want %v", reaped, want)
	}

	op, err := db.Operation(ctx, dead.ID)
	if err != nil {
		t.Fatal(err)
	}
	reason := "owner process " + strconv.Itoa(pid) + " on " + host + " is gone"
	if op.Status != vocab.OpInterrupted || op.FinishedAt == nil || op.Error != reason {
		t.Errorf("reaped operation = %+v", op)
	}
	stacks, _ := db.OperationStacks(ctx, dead.ID)
	for _, s := range stacks {
		wantStatus := map[string]vocab.StackStatus{"network": vocab.StackDeployed, "database": vocab.StackInterrupted}[s.Stack]
		if s.Status != wantStatus {
			t.Errorf("operation stack %s = %s, want %s", s.Stack, s.Status, wantStatus)
		}
	}
	st, _ := db.StackState(ctx, "D1BRV40", "dev", "database")
	if st.Status != vocab.StackInterrupted || st.Reason != reason {
		t.Errorf("database state = %+v", st)
	}
	if st, _ := db.StackState(ctx, "D1BRV40", "dev", "network"); st.Status != "deployed" {
		t.Errorf("network state = %s, want deployed (untouched)", st.Status)
	}

	evs, err := db.LastEvents(ctx, dead.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Kind != vocab.EventStack || evs[0].Stack != "database" || evs[1].Kind != vocab.EventOperation {
		t.Fatalf("last events = %+v", evs)
	}
	var payload map[string]string
	if err := json.Unmarshal(evs[1].Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["status"] != "interrupted" || payload["reason"] != reason {
		t.Errorf("payload = %v", payload)
	}
	if op.LastSeq != evs[1].Seq {
		t.Errorf("LastSeq = %d, want %d", op.LastSeq, evs[1].Seq)
	}

	if r, _ := db.Operation(ctx, remote.ID); r.Status != vocab.OpRunning {
		t.Errorf("remote operation = %s, want running", r.Status)
	}
	if l, _ := db.Operation(ctx, live.ID); l.Status != vocab.OpRunning {
		t.Errorf("live operation = %s, want running", l.Status)
	}

	// Our own pid with another start time: the pid was reused.
	reused := &store.Operation{DeploymentID: "D1BRV40", Environment: "prod", Kind: "deploy",
		Host: host, PID: os.Getpid(), PIDStart: myStart + "0"}
	if err := db.BeginOperation(ctx, reused); err != nil {
		t.Fatal(err)
	}
	if reaped, err := db.ReapInterrupted(ctx); err != nil || !slices.Equal(reaped, []string{reused.ID}) {
		t.Errorf("reaped %v, %v; want [%s] (pid reused)", reaped, err, reused.ID)
	}

	// The environment is free again.
	if err := db.BeginOperation(ctx, &store.Operation{DeploymentID: "D1BRV40", Environment: "dev", Kind: "deploy"}); err != nil {
		t.Errorf("BeginOperation after reap: %v", err)
	}
}

func TestDB_BeginOperation_ReapsDeadOwner(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	saveDeployment(t, db)
	_, _, host := store.ProcessIdentity()
	dead := &store.Operation{DeploymentID: "D1BRV40", Environment: "dev", Kind: "deploy", Host: host, PID: deadPID(t)}
	if err := db.BeginOperation(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if err := db.BeginOperation(ctx, &store.Operation{DeploymentID: "D1BRV40", Environment: "dev", Kind: "deploy"}); err != nil {
		t.Fatalf("BeginOperation with a dead holder: %v", err)
	}
	if op, _ := db.Operation(ctx, dead.ID); op.Status != vocab.OpInterrupted {
		t.Errorf("dead holder = %s, want interrupted", op.Status)
	}
}

// TestDB_ReapEndsAtLastEvent: an interrupted operation's duration ends at
// its owner's last event, not when another process noticed it was gone.
func TestDB_ReapEndsAtLastEvent(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "cloud.db"), store.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	saveDeployment(t, db)
	_, _, host := store.ProcessIdentity()
	op := &store.Operation{DeploymentID: "D1BRV40", Environment: "dev", Kind: "deploy", Host: host, PID: deadPID(t), PIDStart: "12345",
		StartedAt: clock}
	if err := db.BeginOperation(ctx, op); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(8 * time.Second) // the run's last event, 8 s in
	if err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: "database", Status: "deploying"},
		&store.StackState{Status: "deploying"}, &store.Event{Kind: vocab.EventStack}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(11 * time.Minute) // noticed much later
	if _, err := db.ReapInterrupted(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.Operation(ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FinishedAt == nil || got.FinishedAt.Sub(got.StartedAt) != 8*time.Second {
		t.Errorf("interrupted operation %v → %v, want it to end 8 s in, at its last event", got.StartedAt, got.FinishedAt)
	}
}
