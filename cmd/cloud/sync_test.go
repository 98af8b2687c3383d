package main_test

import (
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
