package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/store/hlc"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/engine"
	"github.com/cloudplatform/cloud/sync/remote"
)

// syncHome is one fresh home of a team: its app and its sync engine on the
// team's table.
type syncHome struct {
	name string
	app  *app.App
	db   *store.DB
	eng  *engine.Engine
}

func openSyncHome(t *testing.T, name string, tbl *remote.Table) *syncHome {
	t.Helper()
	a, db := openWithStore(t, app.Config{Home: t.TempDir()})
	return &syncHome{name: name, app: a, db: db, eng: engine.New(db, tbl, engine.Options{})}
}

func (h *syncHome) sync(t *testing.T) engine.SyncStats {
	t.Helper()
	st, err := h.eng.Sync(context.Background())
	if err != nil {
		t.Fatalf("%s: sync: %v", h.name, err)
	}
	return st
}

func (h *syncHome) assertNoConflicts(t *testing.T) {
	t.Helper()
	cs, err := h.db.Conflicts(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		t.Errorf("%s recorded a conflict on %s %s (winner %s/%s, loser %s/%s)", h.name, c.Entity, c.Key,
			c.Winner.HLC, c.Winner.Replica, c.Loser.HLC, c.Loser.Replica)
	}
}

func (h *syncHome) templateBody(t *testing.T, name string) string {
	t.Helper()
	tm, err := h.app.Template(context.Background(), name)
	if err != nil {
		t.Fatalf("%s: %v", h.name, err)
	}
	return tm.Body
}

// tableTemplates returns the names of the template items in the table.
func tableTemplates(t *testing.T, tbl *remote.Table) []string {
	t.Helper()
	var names []string
	if err := tbl.Scan(context.Background(), func(it remote.Item) error {
		if it.Entity == "deployment_templates" {
			names = append(names, strings.TrimPrefix(it.SK, "tmpl#"))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestTemplates_TwoFreshHomes: on a brand-new team, two machines that each
// installed the built-in templates sync with no conflict (built-ins stay
// out of the table); a template a user made, and a later edit of it,
// reach the other machine; a built-in an older binary pushed is not
// pulled over the local one.
func TestTemplates_TwoFreshHomes(t *testing.T) {
	ctx := context.Background()
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	m1 := openSyncHome(t, "m1", tbl)
	m2 := openSyncHome(t, "m2", tbl)

	builtins, err := m1.app.Templates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(builtins) == 0 {
		t.Fatal("a fresh home has no built-in templates")
	}
	for _, h := range []*syncHome{m1, m2} {
		if n, err := h.db.PendingOutbox(ctx); err != nil || n != 0 {
			t.Errorf("%s: a fresh home has %d change(s) to push (%v): built-ins must not sync", h.name, n, err)
		}
	}
	m1.sync(t)
	m2.sync(t) // the second machine's first sync: a full reconciliation
	m1.sync(t)
	m1.assertNoConflicts(t)
	m2.assertNoConflicts(t)
	if got := tableTemplates(t, tbl); len(got) != 0 {
		t.Errorf("built-in templates in the table: %v", got)
	}

	// A user-made template syncs, and so does an edit of it.
	if _, err := m1.app.CreateTemplate(ctx, app.CreateTemplateRequest{Name: "team-web", FromTemplate: "minimal",
		Description: "the team's web template"}); err != nil {
		t.Fatal(err)
	}
	if st := m1.sync(t); st.Push.Pushed == 0 {
		t.Errorf("m1 pushed nothing after create-template: %+v", st)
	}
	m2.sync(t)
	if got, want := m2.templateBody(t, "team-web"), m1.templateBody(t, "team-web"); got != want {
		t.Errorf("team-web on m2:\n%s\nwant:\n%s", got, want)
	}
	if _, err := m2.app.UpdateTemplate(ctx, "team-web", "patch.yaml", []byte("description: edited on m2\n")); err != nil {
		t.Fatal(err)
	}
	m2.sync(t)
	m1.sync(t)
	if got := m1.templateBody(t, "team-web"); !strings.Contains(got, "edited on m2") {
		t.Errorf("m2's edit did not reach m1:\n%s", got)
	}
	if got := tableTemplates(t, tbl); len(got) != 1 || got[0] != "team-web" {
		t.Errorf("template items in the table: %v, want [team-web]", got)
	}

	// An older binary synced its built-ins: its item for "default" (newer
	// than every local write) neither replaces m2's built-in nor conflicts.
	want := m2.templateBody(t, "default")
	ts := hlc.New(func() time.Time { return time.Now().Add(time.Hour) }).Now().String()
	payload, _ := json.Marshal(map[string]any{"name": "default", "description": "old", "body": "description: old\nstacks: {}\n",
		"builtin": 1, "version": 1, "hlc": ts, "replica_id": "old-binary", "deleted": 0})
	legacy := remote.Item{PK: "templates", SK: "tmpl#default", Entity: "deployment_templates", Key: json.RawMessage(`["default"]`),
		Version: 1, HLC: ts, Replica: "old-binary", Payload: payload, FeedHLC: ts}
	if applied, _, err := tbl.PutIfNewer(ctx, legacy); err != nil || !applied {
		t.Fatalf("put the legacy built-in: applied %v, %v", applied, err)
	}
	if _, err := m2.eng.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	m2.sync(t)
	if got := m2.templateBody(t, "default"); got != want {
		t.Errorf("a built-in pushed by an older binary replaced m2's:\n%s", got)
	}
	m1.assertNoConflicts(t)
	m2.assertNoConflicts(t)
}
