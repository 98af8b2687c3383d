package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/server/servertest"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
)

// syncProblem sends a request that must fail with status and returns the
// problem document's code.
func syncProblem(t *testing.T, method, url string, in any, status int) string {
	t.Helper()
	var p struct{ Code string }
	rest(t, method, url, in, status, &p)
	return p.Code
}

// TestSyncAPI: team sync and the team lock through GraphQL and REST, on a
// real DynamoDB-compatible server: the status, a sync run, a conflict
// listed, found by its short id and resolved, the team lock read and
// broken; and what each answers when sync is not configured.
func TestSyncAPI(t *testing.T) {
	db := dynamotest.Start(t)
	table := dynamotest.TableName(t)

	// Not configured: the status says so; what needs sync is refused with
	// CONFLICT.
	bare := servertest.Start(t, t.TempDir())
	var st map[string]any
	rest(t, "GET", bare.URL+"/api/v1/sync", nil, http.StatusOK, &st)
	if st["configured"] != false {
		t.Errorf("unconfigured GET /sync: %v", st)
	}
	if code := syncProblem(t, "GET", bare.URL+"/api/v1/sync/conflicts", nil, http.StatusConflict); code != "CONFLICT" {
		t.Errorf("unconfigured GET /sync/conflicts: code %s", code)
	}
	if code := syncProblem(t, "POST", bare.URL+"/api/v1/sync/run", map[string]any{"mode": "push"}, http.StatusConflict); code != "CONFLICT" {
		t.Errorf("unconfigured POST /sync/run: code %s", code)
	}
	var v struct {
		Version struct{ Version, Go, Platform string }
	}
	gql(t, bare.URL, `{ version { version go platform } }`, nil, &v)
	var rv map[string]string
	rest(t, "GET", bare.URL+"/api/v1/version", nil, http.StatusOK, &rv)
	if v.Version.Go == "" || rv["go"] != v.Version.Go || rv["version"] != v.Version.Version || rv["platform"] != v.Version.Platform {
		t.Errorf("version: GraphQL %+v, REST %v", v.Version, rv)
	}

	h1, h2 := t.TempDir(), t.TempDir()
	for _, h := range []string{h1, h2} {
		servertest.MustCloud(t, h, "sync", "configure", "--table", table, "--region", "us-east-1",
			"--endpoint", db.Endpoint, "--interval", "1h")
	}
	servertest.MustCloud(t, h1, "sync", "init-table")
	servertest.MustCloud(t, h1, "--offline", "init", "--id", "DSYNCAP", "--org", "acme", "--project", "shop")
	srv := servertest.Start(t, h1)
	// The background loop syncs once at start, then hourly: wait for that
	// first round so what follows is this test's doing.
	deadline := time.Now().Add(time.Minute)
	for {
		rest(t, "GET", srv.URL+"/api/v1/sync", nil, http.StatusOK, &st)
		if st["lastPull"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's first sync never finished: %v\n%s", st, srv.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st["configured"] != true || st["table"] != table || st["pending"] != float64(0) || st["intervalSeconds"] != float64(3600) {
		t.Errorf("GET /sync: %v", st)
	}
	servertest.MustCloud(t, h2, "sync")

	// The same value changed on both before syncing: h2 writes last, and
	// pushes first; h1's push is refused and h1 keeps its version as a
	// conflict.
	servertest.MustCloud(t, h1, "--offline", "config", "set", "DSYNCAP", "environments.prod.region", "eu-west-1")
	servertest.MustCloud(t, h2, "--offline", "config", "set", "DSYNCAP", "environments.prod.region", "eu-central-1")
	servertest.MustCloud(t, h2, "sync")
	var run map[string]any
	rest(t, "POST", srv.URL+"/api/v1/sync/run", nil, http.StatusOK, &run)
	if run["mode"] != "sync" || run["lost"].(float64) == 0 || run["openConflicts"].(float64) == 0 {
		t.Errorf("POST /sync/run: %v", run)
	}
	if code := syncProblem(t, "POST", srv.URL+"/api/v1/sync/run", map[string]any{"mode": "sideways"}, http.StatusBadRequest); code != "BAD_USER_INPUT" {
		t.Errorf("POST /sync/run with a bad mode: code %s", code)
	}
	var gr struct{ SyncNow struct{ Mode string } }
	gql(t, srv.URL, `mutation { syncNow(mode: pull) { mode read pulled } }`, nil, &gr)
	if gr.SyncNow.Mode != "pull" {
		t.Errorf("syncNow(mode: pull): %+v", gr)
	}

	type conflict struct {
		ID, Short, Entity, Resolution string
		Key                           []any
		Fields                        []struct {
			Name          string
			Winner, Loser any
		}
	}
	var page struct {
		Items      []conflict
		TotalCount int
	}
	rest(t, "GET", srv.URL+"/api/v1/sync/conflicts", nil, http.StatusOK, &page)
	var env *conflict
	for i, c := range page.Items {
		if c.Entity == "environments" && len(c.Key) == 2 && c.Key[1] == "prod" {
			env = &page.Items[i]
		}
	}
	if env == nil || page.TotalCount != len(page.Items) {
		t.Fatalf("GET /sync/conflicts: no conflict on environments/prod: %+v", page)
	}
	if len(env.Fields) != 1 || env.Fields[0].Name != "region" || env.Fields[0].Winner != "eu-central-1" || env.Fields[0].Loser != "eu-west-1" {
		t.Errorf("conflict fields: %+v", env.Fields)
	}
	var gc struct {
		SyncConflicts []conflict
		SyncConflict  *conflict
	}
	gql(t, srv.URL, `query($id: ID!) { syncConflicts { id short entity } syncConflict(id: $id) { id short fields { name winner loser } } }`,
		map[string]any{"id": env.Short[:6]}, &gc)
	if len(gc.SyncConflicts) != len(page.Items) || gc.SyncConflict == nil || gc.SyncConflict.ID != env.ID {
		t.Errorf("GraphQL syncConflicts/syncConflict(prefix): %+v", gc)
	}
	var one conflict
	rest(t, "GET", srv.URL+"/api/v1/sync/conflicts/"+env.Short, nil, http.StatusOK, &one)
	if one.ID != env.ID {
		t.Errorf("GET /sync/conflicts/%s: %+v", env.Short, one)
	}
	if code := syncProblem(t, "GET", srv.URL+"/api/v1/sync/conflicts/ffffffffff", nil, http.StatusNotFound); code != "NOT_FOUND" {
		t.Errorf("GET an unknown conflict: code %s", code)
	}
	if code := syncProblem(t, "POST", srv.URL+"/api/v1/sync/conflicts/"+env.Short+"/resolve", map[string]any{"keep": "both"}, http.StatusBadRequest); code != "BAD_USER_INPUT" {
		t.Errorf("resolve keep both: code %s", code)
	}

	// Restore h1's edit: every row of it, one through GraphQL.
	for i, c := range page.Items {
		if i == 0 {
			var res struct{ ResolveSyncConflict conflict }
			gql(t, srv.URL, `mutation($id: ID!) { resolveSyncConflict(id: $id, keep: loser) { id resolution } }`, map[string]any{"id": c.Short}, &res)
			if res.ResolveSyncConflict.Resolution != "restored" {
				t.Errorf("resolveSyncConflict: %+v", res)
			}
			continue
		}
		var res conflict
		rest(t, "POST", srv.URL+"/api/v1/sync/conflicts/"+c.Short+"/resolve", map[string]any{"keep": "loser"}, http.StatusOK, &res)
		if res.Resolution != "restored" {
			t.Errorf("resolve %s: %+v", c.Short, res)
		}
	}
	if code := syncProblem(t, "POST", srv.URL+"/api/v1/sync/conflicts/"+env.Short+"/resolve", map[string]any{"keep": "winner"}, http.StatusConflict); code != "CONFLICT" {
		t.Errorf("resolving twice: code %s", code)
	}
	rest(t, "POST", srv.URL+"/api/v1/sync/run", map[string]any{"mode": "push"}, http.StatusOK, &run)
	servertest.MustCloud(t, h2, "sync")
	if cfg := servertest.MustCloud(t, h2, "config", "DSYNCAP").Stdout; !strings.Contains(cfg, "region: eu-west-1") {
		t.Errorf("after restoring h1's edit, h2's manifest:\n%s", cfg)
	}

	// The team lock: free, then held by a holder that died, then broken.
	lock := srv.URL + "/api/v1/deployments/DSYNCAP/environments/dev/team-lock"
	var tl struct {
		Configured, Free bool
		Lease            *struct {
			Holder  string
			Token   int
			Expired bool
		}
	}
	rest(t, "GET", lock, nil, http.StatusOK, &tl)
	if !tl.Configured || !tl.Free || tl.Lease != nil {
		t.Errorf("GET team-lock, free: %+v", tl)
	}
	tbl, err := remote.Open(context.Background(), remote.Config{Table: table, Region: "us-east-1", Endpoint: db.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.AcquireLease(context.Background(), "DSYNCAP#dev", "dead/ghost@gone", "deploy DSYNCAP/dev", time.Hour); err != nil {
		t.Fatal(err)
	}
	var gl struct{ TeamLock struct{ Free bool } }
	gql(t, srv.URL, `{ teamLock(deploymentId: "DSYNCAP", environment: "dev") { configured free lease { holder token expired } } }`, nil, &gl)
	rest(t, "GET", lock, nil, http.StatusOK, &tl)
	if gl.TeamLock.Free || tl.Free || tl.Lease == nil || tl.Lease.Holder != "dead/ghost@gone" || tl.Lease.Expired {
		t.Errorf("team lock held: GraphQL %+v, REST %+v", gl, tl)
	}
	var broken struct {
		Broken bool
		Lease  struct{ Holder string }
	}
	rest(t, "DELETE", lock, nil, http.StatusOK, &broken)
	if !broken.Broken || broken.Lease.Holder != "dead/ghost@gone" {
		t.Errorf("DELETE team-lock: %+v", broken)
	}
	var again struct{ BreakTeamLock *struct{ Holder string } }
	gql(t, srv.URL, `mutation { breakTeamLock(deploymentId: "DSYNCAP", environment: "dev") { holder } }`, nil, &again)
	if again.BreakTeamLock != nil {
		t.Errorf("breakTeamLock of a free lock: %+v", again)
	}
	if code := syncProblem(t, "GET", srv.URL+"/api/v1/deployments/DSYNCAP/environments/nope/team-lock", nil, http.StatusNotFound); code != "NOT_FOUND" {
		t.Errorf("team-lock of an unknown environment: code %s", code)
	}

	// The dependency check REST now answers as GraphQL does.
	var deps struct {
		Items []struct {
			Environment string
			Layers      [][]string
			Error       string
		}
	}
	rest(t, "GET", srv.URL+"/api/v1/deployments/DSYNCAP/dependencies", nil, http.StatusOK, &deps)
	var gd struct{ ValidateDependencies []json.RawMessage }
	gql(t, srv.URL, `{ validateDependencies(deploymentId: "DSYNCAP") { environment layers error } }`, nil, &gd)
	if len(deps.Items) == 0 || len(deps.Items) != len(gd.ValidateDependencies) || len(deps.Items[0].Layers) == 0 {
		t.Errorf("GET dependencies: %+v (GraphQL %d)", deps, len(gd.ValidateDependencies))
	}
}
