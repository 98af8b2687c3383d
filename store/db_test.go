package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/migrations"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/store/hlc"
	"github.com/cloudplatform/cloud/vocab"
)

func TestOpen_Migrations(t *testing.T) {
	ctx := context.Background()
	db, path := openStore(t)
	id := db.ReplicaID()
	if id == "" {
		t.Fatal("empty replica id")
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(path + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	raw := rawDB(t, path)
	var n, max int
	if err := raw.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if got, want := max, migrations.Latest(); got != want {
		t.Errorf("recorded version = %d, want %d", got, want)
	}
	if got, want := n, migrations.Latest(); got != want {
		t.Errorf("recorded migrations = %d, want %d", got, want)
	}
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	db.Close()

	t.Run("reopen is idempotent", func(t *testing.T) {
		db2, err := store.Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		if got := db2.ReplicaID(); got != id {
			t.Errorf("replica id = %q after reopen, want %q", got, id)
		}
		var n2 int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n2); err != nil {
			t.Fatal(err)
		}
		if n2 != n {
			t.Errorf("schema_migrations rows = %d after reopen, want %d", n2, n)
		}
	})

	t.Run("newer schema refused", func(t *testing.T) {
		newer := migrations.Latest() + 2
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', '')`, newer); err != nil {
			t.Fatal(err)
		}
		_, err := store.Open(ctx, path, store.Options{})
		if !errors.Is(err, store.ErrSchemaTooNew) {
			t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
		}
		want := "store: database schema version " + strconv.Itoa(newer) + " is newer than this binary supports (" + strconv.Itoa(migrations.Latest()) + "); upgrade cloud"
		if err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
	})
}

func TestOpen_ClockBackwardsAfterRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cloud.db")
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	db, err := store.Open(ctx, path, store.Options{Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	saveDeployment(t, db)
	before, err := db.Outbox(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	earlier := later.Add(-24 * time.Hour) // the wall clock went back a day
	db, err = store.Open(ctx, path, store.Options{Now: func() time.Time { return earlier }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SetEnvironmentEnabled(ctx, "D1BRV40", "prod", true); err != nil {
		t.Fatal(err)
	}
	after, err := db.Outbox(ctx, before[len(before)-1].Seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 1 {
		t.Fatalf("outbox entries after restart = %d, want 1", len(after))
	}
	if last, next := before[len(before)-1].HLC, after[0].HLC; next <= last {
		t.Errorf("HLC after restart %s is not after %s", next, last)
	}
}

func TestDB_Outbox(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	saveDeployment(t, db)
	// 1 deployment + 1 revision + 2 environments + 2 stacks
	if n, err := db.PendingOutbox(ctx); err != nil || n != 6 {
		t.Fatalf("PendingOutbox = %d, %v; want 6", n, err)
	}

	op := beginOp(t, db)
	now := time.Now()
	if err := db.Transition(ctx, store.OperationStack{OperationID: op.ID, Stack: "network", Status: "deploying", StartedAt: &now},
		&store.StackState{Status: "deploying"}, &store.Event{Kind: "stack.status", Payload: []byte(`{"status":"deploying"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetOutputs(ctx, "D1BRV40", "dev", "network", map[string]store.Output{"vpcId": {Value: "vpc-1"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishOperation(ctx, op.ID, vocab.OpSucceeded, "", map[string]any{"stacks": 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutStackTemplate(ctx, store.StackTemplate{Name: "network", Template: []byte(`{"inputs":{}}`)}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutDeploymentTemplate(ctx, store.DeploymentTemplate{Name: "default", Body: "stacks: {}"}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteDeployment(ctx, "D1BRV40"); err != nil {
		t.Fatal(err)
	}

	entries, err := db.Outbox(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	entities := map[string]bool{}
	versions := map[string]int64{}
	for i, e := range entries {
		entities[e.Entity] = true
		if e.ReplicaID != db.ReplicaID() {
			t.Errorf("entry %d: replica %q, want %q", e.Seq, e.ReplicaID, db.ReplicaID())
		}
		if _, err := hlc.Parse(e.HLC); err != nil {
			t.Errorf("entry %d: %v", e.Seq, err)
		}
		if i > 0 && e.HLC <= entries[i-1].HLC {
			t.Errorf("entry %d: HLC %s not after %s", e.Seq, e.HLC, entries[i-1].HLC)
		}
		k := e.Entity + string(e.Key)
		if e.Version <= versions[k] && e.Op != "append" {
			t.Errorf("entry %d (%s %s): version %d not after %d", e.Seq, e.Entity, e.Key, e.Version, versions[k])
		}
		versions[k] = e.Version
		if len(e.Payload) == 0 || e.Payload[0] != '{' {
			t.Errorf("entry %d: payload %s is not a JSON object", e.Seq, e.Payload)
		}
	}
	for _, want := range []string{"deployments", "manifest_revisions", "environments", "deployment_stacks",
		"operations", "operation_stacks", "stack_states", "events", "outputs", "stack_templates",
		"stack_template_history", "deployment_templates"} {
		if !entities[want] {
			t.Errorf("no outbox entry for %s", want)
		}
	}
	if got := versions[`deployments["D1BRV40"]`]; got != 2 {
		t.Errorf("deployment version after save and delete = %d, want 2", got)
	}
	last := entries[len(entries)-1]
	if last.Op != "delete" {
		t.Errorf("last entry op = %q, want delete", last.Op)
	}

	if err := db.AckOutbox(ctx, entries[len(entries)/2].Seq); err != nil {
		t.Fatal(err)
	}
	n, err := db.PendingOutbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(entries) - len(entries)/2 - 1; n != want {
		t.Errorf("PendingOutbox after ack = %d, want %d", n, want)
	}
}
