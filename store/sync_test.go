package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/store"
)

// ship applies every pending change of from to to (as if from pushed them
// and to pulled them) and acknowledges them on from; it returns what to did
// with each.
func ship(t *testing.T, from, to *store.DB) map[store.Applied]int {
	t.Helper()
	ctx := context.Background()
	pending, err := from.PendingChanges(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[store.Applied]int{}
	for _, p := range pending {
		if p.Payload != nil && (p.AppendOnly || p.HLC != p.Base) {
			a, _, err := to.ApplyRemote(ctx, p.Change)
			if err != nil {
				t.Fatalf("apply %s %s: %v", p.Entity, p.Key, err)
			}
			got[a]++
		}
		if err := from.AckPending(ctx, p, true); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

func pendingCount(t *testing.T, db *store.DB) int {
	t.Helper()
	n := 0
	ps, err := db.PendingChanges(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.AppendOnly || p.HLC != p.Base {
			n++
		}
	}
	return n
}

func TestSyncBetweenTwoStores(t *testing.T) {
	ctx := context.Background()
	a, _ := openStore(t)
	b, _ := openStore(t)
	saveDeployment(t, a)
	op := beginOp(t, a)
	for i := 0; i < 3; i++ {
		if err := a.AppendEvent(ctx, &store.Event{OperationID: op.ID, Stack: "network", Kind: "log", Payload: json.RawMessage(`{"text":"hi"}`)}); err != nil {
			t.Fatal(err)
		}
	}

	// Everything a wrote reaches b; a's rows are then clean.
	got := ship(t, a, b)
	if got[store.Inserted] == 0 || got[store.KeptLocal] != 0 {
		t.Fatalf("first ship: %v", got)
	}
	if n := pendingCount(t, a); n != 0 {
		t.Errorf("a has %d pending changes after acknowledging them all", n)
	}
	dep, err := b.Deployment(ctx, "D1BRV40")
	if err != nil || dep.Organization != "acme" || dep.Domain != "shop.example.com" {
		t.Fatalf("b's copy of the deployment: %+v, %v", dep, err)
	}
	evs, err := b.Events(ctx, op.ID, 0, 100)
	if err != nil || len(evs) < 4 { // running + 3 logs
		t.Fatalf("b has %d events of %s (%v)", len(evs), op.ID, err)
	}
	for i, e := range evs {
		if e.GlobalSeq == 0 || (i > 0 && e.GlobalSeq <= evs[i-1].GlobalSeq) {
			t.Errorf("event %d: gseq %d after %d", i, e.GlobalSeq, evs[max(i-1, 0)].GlobalSeq)
		}
	}
	// b pulled them: b has nothing to push.
	if n := pendingCount(t, b); n != 0 {
		t.Errorf("b has %d pending changes after only pulling", n)
	}

	// Applying the same changes again changes nothing.
	pa, _ := a.PendingChanges(ctx, 0)
	if len(pa) != 0 {
		t.Fatalf("a still has pending changes: %d", len(pa))
	}

	// A clean copy takes a newer version without a conflict.
	put := func(db *store.DB, body string) {
		t.Helper()
		if err := db.PutDeploymentTemplate(ctx, store.DeploymentTemplate{Name: "team", Description: "d", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	put(a, "v1")
	ship(t, a, b)
	put(a, "v2")
	if got := ship(t, a, b); got[store.Replaced] != 1 {
		t.Errorf("newer version over a clean copy: %v", got)
	}
	if tm, _ := b.DeploymentTemplate(ctx, "team"); tm == nil || tm.Body != "v2" {
		t.Errorf("b's template: %+v", tm)
	}
	if cs, _ := b.Conflicts(ctx, true); len(cs) != 0 {
		t.Errorf("conflicts without a concurrent edit: %+v", cs)
	}

	// Concurrent edits: b then a change the same template; a's is later
	// and wins on b, b's version is kept as the loser.
	// (The pauses make the second write's wall clock, hence its HLC,
	// later: the two stores share no clock.)
	put(b, "b's edit")
	time.Sleep(3 * time.Millisecond)
	put(a, "a's edit")
	if got := ship(t, a, b); got[store.Replaced] != 1 {
		t.Errorf("concurrent, remote later: %v", got)
	}
	cs, err := b.Conflicts(ctx, false)
	if err != nil || len(cs) != 1 {
		t.Fatalf("conflicts on b: %+v (%v)", cs, err)
	}
	c := cs[0]
	if c.Entity != "deployment_templates" || !contains(c.Winner.Payload, "a's edit") || !contains(c.Loser.Payload, "b's edit") {
		t.Errorf("conflict: %s winner %s loser %s", c.Entity, c.Winner.Payload, c.Loser.Payload)
	}
	if tm, _ := b.DeploymentTemplate(ctx, "team"); tm.Body != "a's edit" {
		t.Errorf("b's template after the conflict: %q", tm.Body)
	}
	// b's losing edit is not pushed: its row is a clean copy of a's.
	if n := pendingCount(t, b); n != 0 {
		t.Errorf("b would push %d changes after losing", n)
	}

	// The other way: a local edit later than the remote one stays, and
	// the remote version is the loser.
	put(a, "a again")
	time.Sleep(3 * time.Millisecond)
	put(b, "b later")
	if got := ship(t, a, b); got[store.KeptLocal] != 1 {
		t.Errorf("concurrent, local later: %v", got)
	}
	if tm, _ := b.DeploymentTemplate(ctx, "team"); tm.Body != "b later" {
		t.Errorf("b's template: %q", tm.Body)
	}
	cs, _ = b.Conflicts(ctx, false)
	if len(cs) != 2 {
		t.Fatalf("want 2 open conflicts on b, have %d", len(cs))
	}

	// Resolving by restoring the loser writes it again as a new change.
	var restore store.Conflict
	for _, c := range cs {
		if contains(c.Loser.Payload, "a again") {
			restore = c
		}
	}
	if err := b.ResolveConflict(ctx, restore.ID, true); err != nil {
		t.Fatal(err)
	}
	if tm, _ := b.DeploymentTemplate(ctx, "team"); tm.Body != "a again" {
		t.Errorf("restored body %q", tm.Body)
	}
	if err := b.ResolveConflict(ctx, restore.ID, false); err == nil {
		t.Error("resolving twice succeeded")
	}
	if got := ship(t, b, a); got[store.Replaced] != 1 {
		t.Errorf("the restored version on a: %v", got)
	}
	if tm, _ := a.DeploymentTemplate(ctx, "team"); tm.Body != "a again" {
		t.Errorf("a's template after the restore: %q", tm.Body)
	}
	if open, _ := b.Conflicts(ctx, false); len(open) != 1 {
		t.Errorf("open conflicts after resolving one: %d", len(open))
	}

	// Tombstones travel like any version.
	if err := a.DeleteDeploymentTemplate(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	ship(t, a, b)
	if _, err := b.DeploymentTemplate(ctx, "team"); err == nil {
		t.Error("the deletion did not reach b")
	}

	// The engine's bookkeeping.
	if err := a.SetSyncValue(ctx, "cursor", "x"); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.SyncValue(ctx, "cursor"); v != "x" {
		t.Errorf("sync value %q", v)
	}

	// Both stores list the same rows with the same versions.
	rows := func(db *store.DB) map[string]string {
		m := map[string]string{}
		if err := db.Rows(ctx, func(c store.Change, _ string) error {
			m[c.Entity+string(c.Key)] = c.HLC + c.Replica
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	ra, rb := rows(a), rows(b)
	for k, v := range ra {
		if rb[k] != v {
			t.Errorf("%s: a has %s, b has %s", k, v, rb[k])
		}
	}
}

func contains(b []byte, s string) bool { return json.Valid(b) && strings.Contains(string(b), s) }
