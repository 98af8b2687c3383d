package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cloudplatform/cloud/auth/cognito"
	"github.com/cloudplatform/cloud/auth/cognitolocal"
	"github.com/cloudplatform/cloud/server/gqlws"
)

// serveProc is a `cloud serve` of the test binary on a port it chose
// itself (--listen 127.0.0.1:0), read from its "serving on" line.
type serveProc struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	logs strings.Builder
}

func (s *serveProc) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

var servingURLRE = regexp.MustCompile(`serving on (http://\S+)`)

func startServe(t *testing.T, home string, flags ...string) *serveProc {
	t.Helper()
	s := &serveProc{done: make(chan struct{})}
	s.cmd = exec.Command(cloudBin, append([]string{"--home", home, "--no-color", "serve", "--listen", "127.0.0.1:0"}, flags...)...)
	s.cmd.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = io.Discard
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := servingURLRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		_ = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case s.URL = <-ready:
	case <-s.done:
		t.Fatalf("cloud serve exited: %s", s.log())
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Fatal("cloud serve did not start")
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("cloud serve log:\n%s", s.log())
		}
	})
	return s
}

// cloudIn runs cloud with stdin.
func cloudIn(t *testing.T, home, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(cloudBin, append([]string{"--home", home, "--no-color"}, args...)...)
	cmd.Env = append(os.Environ(), "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run cloud %v: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}

// TestLoginAndRemote runs the CLI against a real `cloud serve --auth
// cognito` of a real Cognito-compatible server (cognito-local): login,
// the remote commands as an admin and as a viewer, monitor with the
// token, logout; and the token on both GraphQL doors, a bad one closing
// the WebSocket with 4403.
func TestLoginAndRemote(t *testing.T) {
	idp := cognitolocal.Start(t)
	pool := idp.CreatePool(t, "cloud-test")
	idp.CreateUser(t, pool, "admin1", "Passw0rd!", "admin")
	idp.CreateUser(t, pool, "dep1", "Passw0rd!", "deployer")
	idp.CreateUser(t, pool, "view1", "Passw0rd!", "viewer")

	serverHome := t.TempDir()
	const id = "DREMOT1"
	mustCloud(t, serverHome, "init", "--id", id, "--org", "acme", "--project", "shop", "--domain", "shop.example.com", "--template", "demo")
	srv := startServe(t, serverHome, "--auth", "cognito", "--cognito-issuer", pool.Issuer,
		"--cognito-client-id", pool.ClientID, "--cognito-endpoint", idp.Endpoint, "--cognito-region", pool.Region)
	url := srv.URL

	// Without a login: a clear way out, for REST commands and monitor.
	anon := t.TempDir()
	for _, args := range [][]string{{"--server", url, "list"}, {"monitor", "--server", url, "--plain", id}} {
		r := cloud(t, anon, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "not logged in to "+url+": run cloud login --server "+url) {
			t.Errorf("cloud %v without login: exit %d\n%s", args, r.code, r.stderr)
		}
	}

	// A wrong password is refused and stores nothing.
	admin := t.TempDir()
	tokens := filepath.Join(admin, "tokens.json")
	r := cloudIn(t, admin, "wrong-password\n", "login", "--server", url, "--username", "admin1", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "wrong username or password") {
		t.Errorf("login with a wrong password: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(tokens); err == nil {
		t.Errorf("a failed login left %s", tokens)
	}
	r = cloudIn(t, admin, "Passw0rd!\n", "login", "--server", url, "--username", "admin1", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stderr, "logged in to "+url+" as admin1 (groups: admin)") {
		t.Fatalf("login: exit %d\n%s", r.code, r.stderr)
	}
	if fi, err := os.Stat(tokens); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file: %v %v, want mode 0600", fi, err)
	}
	st := mustCloud(t, admin, "login", "--server", url, "--status").stdout
	if !strings.Contains(st, "admin1") || !strings.Contains(st, "groups    admin") || !strings.Contains(st, "expires") {
		t.Errorf("login --status:\n%s", st)
	}

	// The admin lists and deploys on the server, from another home.
	if out := mustCloud(t, admin, "--server", url, "list").stdout; !strings.Contains(out, id) {
		t.Errorf("remote list lacks %s:\n%s", id, out)
	}
	var page struct {
		Items []struct{ ID string } `json:"items"`
	}
	if err := json.Unmarshal([]byte(mustCloud(t, admin, "--server", url, "list", "-o", "json").stdout), &page); err != nil || len(page.Items) != 1 || page.Items[0].ID != id {
		t.Errorf("remote list -o json: %v %+v", err, page)
	}
	if r := cloud(t, admin, "--server", url, "init", "--id", "DX00001"); r.code != 2 || !strings.Contains(r.stderr, "cloud init does not run against a server") {
		t.Errorf("init with --server: exit %d\n%s", r.code, r.stderr)
	}
	r = cloud(t, admin, "deploy", id, "-e", "dev", "--server", url)
	if r.code != 0 {
		t.Fatalf("remote deploy: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The lines a local deploy prints: one reducer and one printer.
	for _, want := range []string{"Deploy op-", "stack network          deployed in", "[6/6]", "succeeded in"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("remote deploy output lacks %q:\n%s", want, r.stderr)
		}
	}
	if regexp.MustCompile(`(?m)^\S+\s+(failed|skipped)`).MatchString(r.stderr) {
		t.Errorf("remote deploy had failed stacks:\n%s", r.stderr)
	}
	status := mustCloud(t, admin, "--server", url, "status", id, "-e", "dev").stdout
	if !strings.Contains(status, "Environment dev  deployed") {
		t.Errorf("remote status:\n%s", status)
	}
	hist := mustCloud(t, admin, "--server", url, "history", id, "-e", "dev", "-o", "json").stdout
	var ops struct {
		Items []struct{ ID, Status, Actor string } `json:"items"`
	}
	if err := json.Unmarshal([]byte(hist), &ops); err != nil || len(ops.Items) == 0 || ops.Items[0].Status != "succeeded" || ops.Items[0].Actor != "admin1" {
		t.Fatalf("remote history: %v\n%s", err, hist)
	}
	opID := ops.Items[0].ID
	outs := mustCloud(t, admin, "--server", url, "outputs", id, "-e", "dev").stdout
	if !strings.Contains(outs, "database") || !strings.Contains(outs, "[secret]") {
		t.Errorf("remote outputs:\n%s", outs)
	}
	if out := mustCloud(t, admin, "--server", url, "outputs", id, "database", "-e", "dev", "--show-secrets").stdout; strings.Contains(out, "[secret]") {
		t.Errorf("admin outputs --show-secrets still masks:\n%s", out)
	}
	r = cloud(t, admin, "--server", url, "status", id, "-e", "qa")
	if r.code != 2 || !strings.Contains(r.stderr, `has no environment "qa"`) {
		t.Errorf("remote status of an unknown environment: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, admin, "--server", url, "cancel", "op-000000000000-000000"); r.code != 1 || !strings.Contains(r.stderr, "(NOT_FOUND)") {
		t.Errorf("remote cancel of an unknown operation: exit %d\n%s", r.code, r.stderr)
	}

	// monitor follows the operation through the subscription, with the
	// token, and exits with its result.
	r = cloud(t, admin, "monitor", "--server", url, "--plain", "--operation", opID)
	if r.code != 0 || !regexp.MustCompile(`operation `+opID+` deploy succeeded in `).MatchString(r.stdout) {
		t.Errorf("remote monitor: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// A viewer reads, but neither deploys nor sees secrets.
	viewer := t.TempDir()
	mustRun := cloudIn(t, viewer, "Passw0rd!\n", "login", "--server", url, "-u", "view1", "--password-stdin")
	if mustRun.code != 0 {
		t.Fatalf("viewer login: %s", mustRun.stderr)
	}
	mustCloud(t, viewer, "--server", url, "status", id)
	r = cloud(t, viewer, "--server", url, "deploy", id, "-e", "dev")
	if r.code != 1 || !strings.Contains(r.stderr, "view1 (viewer) may not deploy") || !strings.Contains(r.stderr, "(FORBIDDEN)") {
		t.Errorf("viewer deploy: exit %d\n%s", r.code, r.stderr)
	}
	r = cloud(t, viewer, "--server", url, "outputs", id, "-e", "dev", "--show-secrets")
	if r.code != 1 || !strings.Contains(r.stderr, "(FORBIDDEN)") {
		t.Errorf("viewer outputs --show-secrets: exit %d\n%s", r.code, r.stderr)
	}

	// The admin's token on GraphQL: a query, and a subscription over the
	// WebSocket with the token in connection_init.
	tok := idToken(t, tokens, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := gqlws.Dial(ctx, url+"/graphql", gqlws.Options{InitPayload: map[string]any{"Authorization": "Bearer " + tok}})
	if err != nil {
		t.Fatalf("subscribe with the admin's token: %v", err)
	}
	ch, stop, err := conn.Subscribe(ctx, `subscription($op: ID!) { operationEvents(operationId: $op) { events { seq kind } } }`, map[string]any{"op": opID})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-ch:
		if len(res.Errors) > 0 || !strings.Contains(string(res.Data), `"seq":1`) {
			t.Errorf("subscription: %s %v", res.Data, res.Errors)
		}
	case <-ctx.Done():
		t.Error("no event on the subscription")
	}
	stop()
	conn.Close()
	if _, err := gqlws.Dial(ctx, url+"/graphql", gqlws.Options{InitPayload: map[string]any{"Authorization": "Bearer " + tok + "x"}}); err == nil {
		t.Error("a bad token was let in to the WebSocket")
	} else if ce := (websocket.CloseError{}); !errors.As(err, &ce) || ce.Code != 4403 {
		t.Errorf("a bad token: %v, want close code 4403", err)
	}
	var q struct {
		Data struct{ Deployment struct{ ID string } }
	}
	if err := graphQL(ctx, url, tok, `query($d: ID!) { deployment(id: $d) { id } }`, map[string]any{"d": id}, &q); err != nil || q.Data.Deployment.ID != id {
		t.Errorf("GraphQL query with the admin's token: %v %+v", err, q)
	}
	if err := graphQL(ctx, url, "", `{ deployments { nodes { id } } }`, nil, &q); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("GraphQL query without a token: %v, want 401", err)
	}

	// logout revokes the refresh token in Cognito and forgets the tokens:
	// the server refuses again.
	kept, err := (cognito.Store{Path: tokens}).Load(url)
	if err != nil {
		t.Fatal(err)
	}
	mustCloud(t, admin, "logout", "--server", url)
	if _, err := kept.Client.Refresh(ctx, &kept.Tokens); !errors.Is(err, cognito.ErrSessionExpired) {
		t.Errorf("the refresh token still works after logout: %v", err)
	}
	if r := cloud(t, admin, "--server", url, "list"); r.code == 0 || !strings.Contains(r.stderr, "run cloud login") {
		t.Errorf("list after logout: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, admin, "login", "--server", url, "--status"); r.code == 0 || !strings.Contains(r.stderr, "not logged in") {
		t.Errorf("login --status after logout: exit %d\n%s", r.code, r.stderr)
	}
}

// idToken reads the ID token cloud login kept for server.
func idToken(t *testing.T, file, server string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Servers map[string]struct {
			Tokens struct {
				IDToken string `json:"id_token"`
			}
		}
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	tok := f.Servers[server].Tokens.IDToken
	if tok == "" {
		t.Fatalf("no ID token for %s in %s", server, b)
	}
	return tok
}
