package main_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/sync/dynamotest"
)

// clearSyncEnv keeps the developer's CLOUD_SYNC_* variables out of a test.
func clearSyncEnv(t *testing.T) {
	for _, v := range []string{"CLOUD_SYNC_TABLE", "CLOUD_SYNC_REGION", "CLOUD_SYNC_ENDPOINT", "CLOUD_SYNC_PROFILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func TestSync_ConfigureInitCheck(t *testing.T) {
	clearSyncEnv(t)
	srv := dynamotest.Start(t)
	home := t.TempDir()
	table := dynamotest.TableName(t)

	if r := mustCloud(t, home, "sync", "configure"); !strings.Contains(r.stdout, "sync is not configured") {
		t.Errorf("configure without a file:\n%s", r.stdout)
	}
	if r := cloud(t, home, "sync", "check"); r.code != 1 || !strings.Contains(r.stderr, "sync is not configured") {
		t.Errorf("check unconfigured: exit %d\n%s", r.code, r.stderr)
	}

	r := mustCloud(t, home, "sync", "configure", "--table", table, "--region", "us-east-1", "--endpoint", srv.Endpoint)
	for _, want := range []string{"table     " + table, "region    us-east-1", "endpoint  " + srv.Endpoint, "interval  30s"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("configure output lacks %q:\n%s", want, r.stdout)
		}
	}
	fi, err := os.Stat(home + "/sync.json")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sync.json: %v %v", fi, err)
	}
	// Shown again, in JSON; a flag changes one field and keeps the others.
	mustCloud(t, home, "sync", "configure", "--profile", "ops")
	got := decode[map[string]any](t, mustCloud(t, home, "sync", "configure", "-o", "json").stdout)
	if got["table"] != table || got["profile"] != "ops" || got["configured"] != true {
		t.Errorf("configure -o json = %v", got)
	}
	mustCloud(t, home, "sync", "configure", "--profile", "")

	// No table yet: check says so and exits 1.
	r = cloud(t, home, "sync", "check")
	if r.code != 1 || !strings.Contains(r.stdout, "NOT OK") || !strings.Contains(r.stdout, "does not exist") {
		t.Errorf("check before init: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = mustCloud(t, home, "sync", "init-table")
	if !strings.Contains(r.stdout, "table "+table+" is ready") || !strings.Contains(r.stderr, "platform stack") {
		t.Errorf("init-table:\n%s%s", r.stdout, r.stderr)
	}
	mustCloud(t, home, "sync", "init-table") // idempotent
	r = mustCloud(t, home, "sync", "check")
	if !strings.Contains(r.stdout, "table "+table+": OK") {
		t.Errorf("check:\n%s", r.stdout)
	}
	if got := decode[map[string]any](t, mustCloud(t, home, "sync", "check", "-o", "json").stdout); got["ok"] != true {
		t.Errorf("check -o json = %v", got)
	}

	// The environment overrides the file: another table, which is missing.
	t.Setenv("CLOUD_SYNC_TABLE", table+"-other")
	if r := cloud(t, home, "sync", "check"); r.code != 1 || !strings.Contains(r.stdout, table+"-other: NOT OK") {
		t.Errorf("check with CLOUD_SYNC_TABLE: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestSync_ConfigureErrors(t *testing.T) {
	clearSyncEnv(t)
	home := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--table", "x", "--region", "us-east-1"}, "3 to 255"},
		{[]string{"--table", "ok-table", "--region", "Europe"}, `region "Europe"`},
		{[]string{"--table", "ok-table", "--endpoint", "localhost:8000"}, "endpoint"},
		{[]string{"--region", "us-east-1"}, "sync is not configured"},
	} {
		r := cloud(t, home, append([]string{"sync", "configure"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("configure %v: exit %d, want 2 and %q\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
	if _, err := os.Stat(home + "/sync.json"); !os.IsNotExist(err) {
		t.Errorf("a bad configuration was saved: %v", err)
	}
}

// TestSync_Unreachable: a dead endpoint fails fast with the cause, not a
// long hang (the CLI makes 3 attempts).
func TestSync_Unreachable(t *testing.T) {
	clearSyncEnv(t)
	srv := dynamotest.Start(t)
	home := t.TempDir()
	mustCloud(t, home, "sync", "configure", "--table", "sync-table", "--region", "us-east-1", "--endpoint", srv.Endpoint)
	srv.Kill()
	for _, cmd := range []string{"check", "init-table"} {
		r := cloud(t, home, "sync", cmd)
		if r.code != 1 || !strings.Contains(r.stderr, "connection refused") || !strings.Contains(r.stderr, `table "sync-table"`) {
			t.Errorf("%s on a dead endpoint: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
}

// TestSync_TwoHomes: two machines share one table; a deployment made on
// one appears on the other, and a concurrent edit becomes a conflict that
// one of them resolves.
func TestSync_TwoHomes(t *testing.T) {
	clearSyncEnv(t)
	srv := dynamotest.Start(t)
	table := dynamotest.TableName(t)
	h1, h2 := t.TempDir(), t.TempDir()

	// Not configured: every engine command says so, exit 2.
	for _, cmd := range [][]string{{"sync"}, {"sync", "push"}, {"sync", "pull"}, {"sync", "status"}, {"sync", "reconcile"},
		{"sync", "conflicts"}, {"sync", "resolve", "x", "--keep", "winner"}} {
		if r := cloud(t, h1, cmd...); r.code != 2 || !strings.Contains(r.stderr, "cloud sync configure") {
			t.Errorf("%v unconfigured: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
	for _, h := range []string{h1, h2} {
		mustCloud(t, h, "sync", "configure", "--table", table, "--region", "us-east-1", "--endpoint", srv.Endpoint)
	}
	mustCloud(t, h1, "sync", "init-table")

	mustCloud(t, h1, "init", "--id", "DSYNC01", "--org", "acme", "--project", "shop")
	mustCloud(t, h1, "sync")
	mustCloud(t, h2, "sync")
	list := items[map[string]any](t, mustCloud(t, h2, "list", "-o", "json").stdout)
	if len(list) != 1 || list[0]["id"] != "DSYNC01" {
		t.Fatalf("h2 lists %v", list)
	}

	// The same value changed on both before syncing: h2 writes last and wins.
	mustCloud(t, h1, "config", "set", "DSYNC01", "environments.prod.region", "eu-west-1")
	mustCloud(t, h2, "config", "set", "DSYNC01", "environments.prod.region", "eu-central-1")
	mustCloud(t, h1, "sync")
	mustCloud(t, h2, "sync")
	mustCloud(t, h1, "sync")

	type conflict struct {
		ID, Short, Entity string
		Key               []any
		Fields            []struct {
			Name          string
			Winner, Loser any
		}
	}
	// One `config set` writes several rows (the deployment, a new
	// revision, the environment): each concurrent row is one conflict, all
	// on the home that noticed them.
	var home, short string
	var all []conflict
	for _, h := range []string{h1, h2} {
		cs := items[conflict](t, mustCloud(t, h, "sync", "conflicts", "-o", "json").stdout)
		for _, c := range cs {
			if c.Entity == "environments" && len(c.Key) == 2 && c.Key[1] == "prod" {
				if home != "" {
					t.Errorf("the conflict on environments/prod is on both homes")
				}
				home, short, all = h, c.Short, cs
				if len(c.Fields) != 1 || c.Fields[0].Name != "region" || c.Fields[0].Winner != "eu-central-1" || c.Fields[0].Loser != "eu-west-1" {
					t.Errorf("conflict fields: %+v", c.Fields)
				}
			}
		}
	}
	if home == "" {
		t.Fatal("no conflict on environments/prod on either home")
	}
	if r := mustCloud(t, home, "sync", "conflicts"); !strings.Contains(r.stdout, "region") || !strings.Contains(r.stdout, short) {
		t.Errorf("conflicts table:\n%s", r.stdout)
	}
	// Restore h1's edit: every row of it (environment, revision,
	// deployment).
	for _, c := range all {
		mustCloud(t, home, "sync", "resolve", c.Short, "--keep", "loser")
	}
	if r := cloud(t, home, "sync", "resolve", short, "--keep", "loser"); r.code == 0 {
		t.Errorf("resolving twice succeeded")
	}
	for _, h := range []string{home, h1, h2} {
		mustCloud(t, h, "sync")
	}
	for _, h := range []string{h1, h2} {
		if cfg := mustCloud(t, h, "config", "DSYNC01").stdout; !strings.Contains(cfg, "region: eu-west-1") {
			t.Errorf("after resolving, %s's manifest:\n%s", h, cfg)
		}
		if r := mustCloud(t, h, "sync", "conflicts"); !strings.Contains(r.stdout, "no conflicts") {
			t.Errorf("conflicts left on %s:\n%s", h, r.stdout)
		}
	}
	if l1, l2 := mustCloud(t, h1, "list", "-o", "json").stdout, mustCloud(t, h2, "list", "-o", "json").stdout; l1 != l2 {
		t.Errorf("the homes disagree:\n%s\n%s", l1, l2)
	}

	st := decode[map[string]any](t, mustCloud(t, h1, "sync", "status", "-o", "json").stdout)
	if st["table"] != table || st["pending"] != float64(0) || st["lastPush"] == nil || st["lastPull"] == nil ||
		st["replica"] == "" || st["conflicts"] == nil {
		t.Errorf("status -o json = %v", st)
	}
	if r := mustCloud(t, h1, "sync", "status"); !strings.Contains(r.stdout, "pending") || !strings.Contains(r.stdout, table) {
		t.Errorf("status:\n%s", r.stdout)
	}
	// The CLI prints the documents REST serves: the conflicts resolved on
	// the home that noticed them, and the status of a home no sync runs
	// on while it is read.
	resolved := mustCloud(t, home, "sync", "conflicts", "--all", "-o", "json").stdout
	if len(items[conflict](t, resolved)) != len(all) {
		t.Errorf("sync conflicts --all lists not the %d resolved conflicts:\n%s", len(all), resolved)
	}
	status := mustCloud(t, home, "--offline", "sync", "status", "-o", "json").stdout
	api := startServe(t, home, "--offline")
	for path, cli := range map[string]string{"/sync/conflicts?all=true": resolved, "/sync": status} {
		resp, err := http.Get(api.URL + "/api/v1" + path)
		if err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !sameJSON(t, []byte(cli), rest) {
			t.Errorf("-o json is not GET %s:\ncli:  %s\nrest: %s", path, cli, rest)
		}
	}
}

// TestSync_StatesAndSealedSecrets: a deploy on one machine shows on the
// other after a sync — its stack states, operation and outputs — and the
// secret outputs stay sealed with the first machine's key.
func TestSync_StatesAndSealedSecrets(t *testing.T) {
	clearSyncEnv(t)
	srv := dynamotest.Start(t)
	table := dynamotest.TableName(t)
	h1, h2 := t.TempDir(), t.TempDir()
	for _, h := range []string{h1, h2} {
		mustCloud(t, h, "sync", "configure", "--table", table, "--region", "us-east-1", "--endpoint", srv.Endpoint)
	}
	mustCloud(t, h1, "sync", "init-table")
	mustCloud(t, h1, "init", "--id", "DSYNC02", "--org", "acme", "--project", "shop", "--domain", "shop.example.com")
	mustCloud(t, h1, "deploy", "DSYNC02", "-e", "dev")
	mustCloud(t, h1, "sync")
	mustCloud(t, h2, "sync")

	st := decode[statusJSON](t, mustCloud(t, h2, "status", "DSYNC02", "-e", "dev", "-o", "json").stdout)
	if len(st.Environments) != 1 || len(st.Environments[0].Stacks) != 6 {
		t.Fatalf("h2's status of DSYNC02: %+v", st)
	}
	for _, s := range st.Environments[0].Stacks {
		if s.Status != "deployed" {
			t.Errorf("h2 sees %s %s", s.Name, s.Status)
		}
	}
	h1ops := mustCloud(t, h1, "history", "DSYNC02", "-o", "json").stdout
	if h2ops := mustCloud(t, h2, "history", "DSYNC02", "-o", "json").stdout; h2ops != h1ops {
		t.Errorf("history differs:\nh1 %s\nh2 %s", h1ops, h2ops)
	}
	out := mustCloud(t, h2, "outputs", "DSYNC02", "database", "-e", "dev", "--show-secrets").stdout
	if !strings.Contains(out, "sealed on another machine") || strings.Contains(out, "change-me") || !strings.Contains(out, "5432") {
		t.Errorf("h2's outputs of database:\n%s", out)
	}
	if out := mustCloud(t, h1, "outputs", "DSYNC02", "database", "-e", "dev", "--show-secrets").stdout; !strings.Contains(out, "change-me") {
		t.Errorf("h1's own secret:\n%s", out)
	}
}

// TestSync_AfterCommands: with sync configured, a command that commits
// pushes its changes at once (no `cloud sync` needed), --offline keeps them
// queued, and an unreachable table only delays them, never failing the
// command.
func TestSync_AfterCommands(t *testing.T) {
	clearSyncEnv(t)
	srv := dynamotest.Start(t)
	table := dynamotest.TableName(t)
	h1, h2 := t.TempDir(), t.TempDir()
	for _, h := range []string{h1, h2} {
		mustCloud(t, h, "sync", "configure", "--table", table, "--region", "us-east-1", "--endpoint", srv.Endpoint)
	}
	mustCloud(t, h1, "sync", "init-table")
	listed := func(id string) bool {
		t.Helper()
		mustCloud(t, h2, "sync", "pull")
		return strings.Contains(mustCloud(t, h2, "list").stdout, id)
	}

	if r := mustCloud(t, h1, "init", "--id", "DAUTO01", "--org", "acme", "--project", "shop"); !strings.Contains(r.stderr, "sync: pushed") {
		t.Errorf("init did not say it synced:\n%s", r.stderr)
	}
	if !listed("DAUTO01") {
		t.Error("h2 does not see DAUTO01 pushed after init")
	}

	mustCloud(t, h1, "--offline", "init", "--id", "DAUTO02", "--org", "acme", "--project", "shop")
	if listed("DAUTO02") {
		t.Error("an --offline command pushed")
	}
	if st := decode[map[string]any](t, mustCloud(t, h1, "sync", "status", "-o", "json").stdout); fmt.Sprint(st["pending"]) == "0" {
		t.Errorf("nothing pending after an --offline command: %v", st)
	}

	// The table unreachable: the command succeeds, its changes wait.
	srv.Kill()
	r := cloud(t, h1, "init", "--id", "DAUTO03", "--org", "acme", "--project", "shop")
	if r.code != 0 || !strings.Contains(r.stderr, "not pushed") {
		t.Fatalf("init with the table down: exit %d\n%s", r.code, r.stderr)
	}
	srv.Restart() // an empty server again: the table must be created anew
	mustCloud(t, h1, "sync", "init-table")
	mustCloud(t, h1, "sync")
	if !listed("DAUTO02") || !listed("DAUTO03") {
		t.Error("the queued changes did not reach h2 after the table came back")
	}
}
