package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// graphQL posts one query to server's /graphql, with token when not "".
func graphQL(ctx context.Context, server, token, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return json.Unmarshal(b, out)
}

// TestRemoteRefusesLocalOnly: a command that only runs on the local store
// refuses --server (and CLOUD_SERVER) before doing anything, while the
// commands --server does not concern run.
func TestRemoteRefusesLocalOnly(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{
		{"--server", "http://127.0.0.1:1", "init", "--id", "DX00001"},
		{"config", "set", "DX00001", "stacks.app.config.x", "1", "--server", "http://127.0.0.1:1"},
		{"--server", "http://127.0.0.1:1", "lock", "DX00001"},
	} {
		r := cloud(t, home, args...)
		name := args[2]
		if args[0] != "--server" {
			name = args[0]
		}
		if r.code != 2 || !strings.Contains(r.stderr, "cloud "+name+" does not run against a server") {
			t.Errorf("cloud %v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	r := cloudEnv(t, home, []string{"CLOUD_SERVER=http://127.0.0.1:1"}, "validate", "DX00001")
	if r.code != 2 || !strings.Contains(r.stderr, "cloud validate does not run against a server (--server or CLOUD_SERVER)") {
		t.Errorf("validate with CLOUD_SERVER: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloudEnv(t, home, []string{"CLOUD_SERVER=http://127.0.0.1:1"}, "version"); r.code != 0 {
		t.Errorf("version with CLOUD_SERVER: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, home, "--server", "ftp://x", "list"); r.code != 2 || !strings.Contains(r.stderr, "must start with http:// or https://") {
		t.Errorf("list with a bad server URL: exit %d\n%s", r.code, r.stderr)
	}
}

// TestRemoteWithoutAuth: against a server without authentication, login
// says none is needed and the remote commands run without a token; a
// rate-limited client waits for Retry-After once.
func TestRemoteWithoutAuth(t *testing.T) {
	serverHome := t.TempDir()
	initProbe(t, serverHome, "DNOAUTH", 0, false)
	srv := startServe(t, serverHome, "--rate-limit", "0.5", "--burst", "2")
	home := t.TempDir()
	if r := mustCloud(t, home, "login", "--server", srv.URL); !strings.Contains(r.stderr, "needs no login") {
		t.Errorf("login to a server without authentication:\n%s", r.stderr)
	}
	// Burst 2, then one request every 2s: a call is soon told to wait
	// (429 with Retry-After), waits, and succeeds on its retry.
	waited := false
	for i := range 4 {
		r := mustCloud(t, home, "--server", srv.URL, "status", "DNOAUTH")
		if !strings.Contains(r.stdout, "Deployment DNOAUTH") {
			t.Errorf("status %d:\n%s", i, r.stdout)
		}
		waited = waited || strings.Contains(r.stderr, "is rate limiting this client; retrying in")
	}
	if !waited {
		t.Error("no call was rate limited and retried")
	}
	r := mustCloud(t, home, "--server", srv.URL, "deploy", "DNOAUTH", "-e", "dev", "-o", "json")
	var op struct{ Status, Kind string }
	if err := json.Unmarshal([]byte(r.stdout), &op); err != nil || op.Status != "succeeded" || op.Kind != "deploy" {
		t.Errorf("deploy -o json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	var ops struct {
		Items []struct{ ID string } `json:"items"`
	}
	if err := json.Unmarshal([]byte(mustCloud(t, home, "--server", srv.URL, "rollback", "DNOAUTH", "--list", "-o", "json").stdout), &ops); err != nil || len(ops.Items) != 1 {
		t.Fatalf("rollback --list: %v %+v", err, ops)
	}
	r = mustCloud(t, home, "--server", srv.URL, "rollback", "DNOAUTH", "--to", ops.Items[0].ID)
	if !strings.Contains(r.stderr, "rollback op-") || !strings.Contains(r.stderr, "succeeded") {
		t.Errorf("rollback:\n%s", r.stderr)
	}
	if r := cloud(t, home, "--server", srv.URL, "cancel", ops.Items[0].ID); r.code != 1 || !strings.Contains(r.stderr, "(CONFLICT)") {
		t.Errorf("cancel of an ended operation: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, home, "--server", srv.URL, "status", "DNOSUCH"); r.code != 1 || !strings.Contains(r.stderr, "(NOT_FOUND)") {
		t.Errorf("status of an unknown deployment: exit %d\n%s", r.code, r.stderr)
	}
}
