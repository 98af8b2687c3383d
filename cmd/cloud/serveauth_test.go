package main_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeAuthModes: without authentication the server stays on loopback
// unless told otherwise, and then says so loudly; cognito mode needs its
// pool and client, and takes them from auth.json too.
func TestServeAuthModes(t *testing.T) {
	home := t.TempDir()
	r := cloud(t, home, "serve", "--listen", "0.0.0.0:0")
	if r.code != 2 || !strings.Contains(r.stderr, "refusing to serve without authentication on 0.0.0.0:0") {
		t.Errorf("non-loopback without auth: exit %d\n%s", r.code, r.stderr)
	}
	r = cloud(t, home, "serve", "--auth", "cognito")
	if r.code != 2 || !strings.Contains(r.stderr, "--auth cognito needs the user pool") {
		t.Errorf("cognito without a pool: exit %d\n%s", r.code, r.stderr)
	}
	r = cloud(t, home, "serve", "--auth", "cognito", "--cognito-user-pool-id", "eu-west-1_AbC123")
	if r.code != 2 || !strings.Contains(r.stderr, "--cognito-client-id") {
		t.Errorf("cognito without a client: exit %d\n%s", r.code, r.stderr)
	}
	r = cloud(t, home, "serve", "--auth", "ldap")
	if r.code != 2 || !strings.Contains(r.stderr, `--auth "ldap": want none or cognito`) {
		t.Errorf("unknown mode: exit %d\n%s", r.code, r.stderr)
	}
	// auth.json with a bad issuer is named when it is used.
	if err := os.WriteFile(filepath.Join(home, "auth.json"), []byte(`{"mode": "cognito", "issuer": "not a url", "clientIds": ["c1"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = cloud(t, home, "serve")
	if r.code != 2 || !strings.Contains(r.stderr, `Issuer: "not a url" is not an absolute http(s) URL`) {
		t.Errorf("auth.json with a bad issuer: exit %d\n%s", r.code, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(home, "auth.json"), []byte(`{"mode": `), 0o600); err != nil {
		t.Fatal(err)
	}
	r = cloud(t, home, "serve")
	if r.code == 0 || !strings.Contains(r.stderr, "auth.json") {
		t.Errorf("broken auth.json: exit %d\n%s", r.code, r.stderr)
	}
	os.Remove(filepath.Join(home, "auth.json"))

	// Allowed: it serves on every address, with a warning in the log.
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := startMonitorServer(t, home, addr, "--allow-unauthenticated")
	srv.mu.Lock()
	logs := srv.logs.String()
	srv.mu.Unlock()
	if !strings.Contains(logs, "serving WITHOUT authentication on a non-loopback address") {
		t.Errorf("no warning in the log:\n%s", logs)
	}
}
