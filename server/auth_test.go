package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/auth/authtest"
	"github.com/cloudplatform/cloud/auth/cognitolocal"
	"github.com/cloudplatform/cloud/server/gqlws"
	"github.com/cloudplatform/cloud/server/servertest"
	"github.com/coder/websocket"
)

// authManifest is a deployment with a fast stack in an ordinary and in a
// protected environment (prod, protected by default).
const authManifest = `version: 1
deployment_id: DAUTH01
organization: acme
project: authz
environments:
  dev: {region: eu-west-1}
  prod: {region: eu-west-1}
stacks:
  p: {program: probe, config: {greeting: hi}}
`

// authServer starts `cloud serve --auth cognito` trusting a local issuer,
// over a home holding DAUTH01.
func authServer(t *testing.T, extra ...string) (*servertest.Server, *authtest.Issuer) {
	t.Helper()
	home := t.TempDir()
	file := filepath.Join(home, "authz.yaml")
	if err := os.WriteFile(file, []byte(authManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	servertest.MustCloud(t, home, "init", "--from-file", file)
	iss := authtest.New(t)
	args := append([]string{"--auth", "cognito", "--cognito-issuer", iss.URL, "--cognito-client-id", authtest.DefaultClientID,
		// The matrix sends many requests per user at once; the limits
		// have their own tests.
		"--rate-limit", "1000", "--burst", "1000"}, extra...)
	return servertest.Start(t, home, args...), iss
}

// call sends a request with an optional Bearer token and returns the
// status and the decoded JSON body.
func call(t *testing.T, method, url, token string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 && json.Unmarshal(b, &out) != nil {
		out = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, out, resp.Header
}

// gqlAs runs a GraphQL document with a token; it returns the status, the
// data and the code of the first error ("" when none).
func gqlAs(t *testing.T, base, token, query string, vars map[string]any) (int, json.RawMessage, string, string) {
	t.Helper()
	status, out, _ := call(t, "POST", base+"/graphql", token, map[string]any{"query": query, "variables": vars})
	data, _ := json.Marshal(out["data"])
	if errs, ok := out["errors"].([]any); ok && len(errs) > 0 {
		e, _ := errs[0].(map[string]any)
		ext, _ := e["extensions"].(map[string]any)
		code, _ := ext["code"].(string)
		msg, _ := e["message"].(string)
		return status, data, code, msg
	}
	return status, data, "", ""
}

// TestAuth_TokensRejected: every kind of bad token is refused with 401 and
// its reason on REST and GraphQL, and a WebSocket whose connection_init
// carries one is closed with 4403 and the reason; a good token passes on
// every door; a rotated key is accepted once the keys are fetched again.
func TestAuth_TokensRejected(t *testing.T) {
	srv, iss := authServer(t, "--jwks-refresh-interval", "1s")
	user := authtest.Token{Subject: "u-1", Username: "alice", Groups: []string{"viewer"}}
	with := func(f func(*authtest.Token)) authtest.Token { tok := user; f(&tok); return tok }
	now := time.Now()
	cases := []struct {
		name, token, reason string
	}{
		{"no token", "", "missing token"},
		{"expired", iss.Sign(t, with(func(k *authtest.Token) { k.IssuedAt, k.ExpiresAt = now.Add(-2*time.Hour), now.Add(-time.Hour) })), "token expired"},
		{"not yet valid", iss.Sign(t, with(func(k *authtest.Token) { k.NotBefore = now.Add(time.Hour) })), "token not valid yet"},
		{"wrong issuer", iss.Sign(t, with(func(k *authtest.Token) { k.Issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other" })), "wrong issuer"},
		{"wrong client", iss.Sign(t, with(func(k *authtest.Token) { k.ClientID = "someone-else" })), "client not allowed"},
		{"wrong token_use", iss.Sign(t, with(func(k *authtest.Token) { k.TokenUse = "refresh" })), "wrong token_use"},
		{"tampered", authtest.Tamper(iss.Sign(t, user)), "bad signature"},
		{"alg none", iss.SignNone(t, user), "algorithm not allowed"},
		{"HS256 with the public key", iss.SignHS256WithPublicKey(t, user), "algorithm not allowed: HS256"},
		{"unknown kid", iss.Sign(t, with(func(k *authtest.Token) { k.Kid = "rotated-away" })), "unknown signing key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, hdr := call(t, "GET", srv.URL+"/api/v1/deployments", tc.token, nil)
			if status != http.StatusUnauthorized || body["code"] != "UNAUTHENTICATED" || !strings.Contains(fmt.Sprint(body["detail"]), tc.reason) {
				t.Errorf("REST: %d %v, want 401 UNAUTHENTICATED with %q", status, body, tc.reason)
			}
			if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("REST: WWW-Authenticate %q", hdr.Get("WWW-Authenticate"))
			}
			status, _, code, msg := gqlAs(t, srv.URL, tc.token, `{ deployments { totalCount } }`, nil)
			if status != http.StatusUnauthorized || code != "UNAUTHENTICATED" || !strings.Contains(msg, tc.reason) {
				t.Errorf("GraphQL: %d %s %q, want 401 UNAUTHENTICATED with %q", status, code, msg, tc.reason)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			init := map[string]any{}
			if tc.token != "" {
				init["Authorization"] = "Bearer " + tc.token
			}
			conn, err := gqlws.Dial(ctx, srv.URL+"/graphql", gqlws.Options{InitPayload: init})
			if err == nil {
				conn.Close()
				t.Fatalf("WebSocket: connected with a bad token")
			}
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4403 || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("WebSocket: %v, want a 4403 close with %q", err, tc.reason)
			}
		})
	}

	good := iss.Sign(t, user)
	if status, body, _ := call(t, "GET", srv.URL+"/api/v1/deployments", good, nil); status != 200 {
		t.Fatalf("REST with a good token: %d %v", status, body)
	}
	if _, data, code, msg := gqlAs(t, srv.URL, good, `{ deployments { totalCount } }`, nil); code != "" || !strings.Contains(string(data), `"totalCount":1`) {
		t.Fatalf("GraphQL with a good token: %s %s %s", data, code, msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := gqlws.Dial(ctx, srv.URL+"/graphql", gqlws.Options{InitPayload: map[string]any{"Authorization": "Bearer " + good}})
	if err != nil {
		t.Fatalf("WebSocket with a good token: %v", err)
	}
	defer conn.Close()
	sub, stop, err := conn.Subscribe(ctx, `subscription { events(kinds: ["operation.status"]) { events { kind deploymentId } } }`, nil)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer stop()
	// An admin deploys; the viewer's subscription sees it.
	admin := iss.Sign(t, authtest.Token{Subject: "u-0", Username: "root", Groups: []string{"admin"}})
	if status, body, _ := call(t, "POST", srv.URL+"/api/v1/deployments/DAUTH01/environments/dev/deploy", admin, nil); status != http.StatusAccepted {
		t.Fatalf("deploy as admin: %d %v", status, body)
	}
	select {
	case r := <-sub:
		if len(r.Errors) > 0 || !strings.Contains(string(r.Data), "DAUTH01") {
			t.Fatalf("subscription: %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("the viewer's subscription saw nothing of the admin's deploy")
	}
	waitIdle(t, srv.URL, admin, "dev")

	// Key rotation: a token of a new key is unknown until the keys are
	// fetched again, which an unknown kid triggers (at most once a
	// second here).
	fetches := iss.Fetches()
	iss.Rotate(false)
	time.Sleep(1100 * time.Millisecond)
	rotated := iss.Sign(t, user)
	if status, body, _ := call(t, "GET", srv.URL+"/api/v1/deployments", rotated, nil); status != 200 {
		t.Fatalf("token of the rotated key: %d %v", status, body)
	}
	if iss.Fetches() != fetches+1 {
		t.Errorf("keys fetched %d times for the rotation, want 1", iss.Fetches()-fetches)
	}
	// The old key is gone: its tokens are refused.
	if status, _, _ := call(t, "GET", srv.URL+"/api/v1/deployments", good, nil); status != http.StatusUnauthorized {
		t.Errorf("token of the retired key: %d, want 401", status)
	}
	// A user in none of the role groups is authenticated but may do
	// nothing.
	nobody := iss.Sign(t, authtest.Token{Subject: "u-9", Username: "nobody", Groups: []string{"staff"}})
	if status, body, _ := call(t, "GET", srv.URL+"/api/v1/deployments", nobody, nil); status != http.StatusForbidden || body["code"] != "FORBIDDEN" {
		t.Errorf("user without a role: %d %v, want 403 FORBIDDEN", status, body)
	}
	// What stays public.
	for _, p := range []string{"/healthz", "/", "/assets/app.js", "/auth/config"} {
		if status, _, _ := call(t, "GET", srv.URL+p, "", nil); status != 200 {
			t.Errorf("GET %s without a token: %d", p, status)
		}
	}
	_, cfg, _ := call(t, "GET", srv.URL+"/auth/config", "", nil)
	if cfg["mode"] != "cognito" || cfg["issuer"] != iss.URL {
		t.Errorf("/auth/config: %v", cfg)
	}
}

// waitIdle waits until no operation runs in env of DAUTH01.
func waitIdle(t *testing.T, base, token, env string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		status, body, _ := call(t, "GET", base+"/api/v1/deployments/DAUTH01/environments/"+env+"/lock", token, nil)
		if status == 200 && body["locked"] == false {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s of DAUTH01 still busy after 2 minutes", env)
}

// TestAuth_RoleMatrix drives every mutation and the queries that read
// secrets or run programs as admin, deployer and viewer over REST and
// GraphQL, and checks each is allowed or refused with 403 FORBIDDEN —
// deployers in the protected prod too. "Allowed" is checked by the
// answer the action gives past the role check (a 400 for an unknown
// stack, a 404 for an unknown operation, a 409 for a finished one), so
// the matrix runs without deploying for every cell.
func TestAuth_RoleMatrix(t *testing.T) {
	srv, iss := authServer(t)
	tokens := map[string]string{
		"admin":    iss.Sign(t, authtest.Token{Subject: "s-admin", Username: "ada", Groups: []string{"admin", "viewer"}}),
		"deployer": iss.Sign(t, authtest.Token{Subject: "s-dep", Username: "dev1", Groups: []string{"deployer"}}),
		"viewer":   iss.Sign(t, authtest.Token{Subject: "s-view", Username: "vic", Groups: []string{"viewer"}}),
	}
	api := srv.URL + "/api/v1"
	dev, prod := api+"/deployments/DAUTH01/environments/dev", api+"/deployments/DAUTH01/environments/prod"

	// One real deploy per environment: the deployer's in dev, the admin's
	// in prod. Both record who asked.
	var devOp, prodOp struct{ ID string }
	for _, d := range []struct {
		url, role string
		op        *struct{ ID string }
	}{{dev, "deployer", &devOp}, {prod, "admin", &prodOp}} {
		status, body, _ := call(t, "POST", d.url+"/deploy", tokens[d.role], nil)
		if status != http.StatusAccepted {
			t.Fatalf("deploy as %s: %d %v", d.role, status, body)
		}
		d.op.ID, _ = body["id"].(string)
		waitIdle(t, srv.URL, tokens["admin"], strings.TrimPrefix(d.url, api+"/deployments/DAUTH01/environments/"))
	}
	_, op, _ := call(t, "GET", api+"/operations/"+devOp.ID, tokens["viewer"], nil)
	flags, _ := op["flags"].(map[string]any)
	caller, _ := flags["caller"].(map[string]any)
	if op["status"] != "succeeded" || op["actor"] != "dev1" || caller["subject"] != "s-dep" || caller["username"] != "dev1" {
		t.Errorf("the deployer's operation does not record the caller: %v", op)
	}
	_, evs, _ := call(t, "GET", api+"/operations/"+devOp.ID+"/events?first=1", tokens["viewer"], nil)
	if first, _ := evs["items"].([]any); len(first) == 0 || !strings.Contains(fmt.Sprint(first[0]), "s-dep") {
		t.Errorf("the operation's first event does not name the caller: %v", evs)
	}

	type cell = int // the status when allowed
	const denied = http.StatusForbidden
	rows := []struct {
		name         string
		method, url  string
		body         any
		admin, dep   cell
		viewerDenied bool
	}{
		{"list deployments", "GET", api + "/deployments", nil, 200, 200, false},
		{"outputs", "GET", dev + "/outputs", nil, 200, 200, false},
		{"secret outputs", "GET", dev + "/outputs?showSecrets=true", nil, 200, 200, true},
		{"validate (runs programs)", "POST", api + "/deployments/DAUTH01/validate?environment=dev", nil, 200, 200, true},
		{"preview dev", "POST", dev + "/preview", map[string]any{"stacks": []string{"nope"}}, 400, 400, true},
		{"deploy dev", "POST", dev + "/deploy", map[string]any{"stacks": []string{"nope"}}, 400, 400, true},
		{"deploy prod", "POST", prod + "/deploy", map[string]any{"stacks": []string{"nope"}}, 400, denied, true},
		{"destroy dev", "POST", dev + "/destroy", map[string]any{"stacks": []string{"nope"}}, 400, 400, true},
		{"destroy prod", "POST", prod + "/destroy", map[string]any{"stacks": []string{"nope"}}, 400, denied, true},
		{"refresh prod", "POST", prod + "/refresh", map[string]any{"stacks": []string{"nope"}}, 400, denied, true},
		{"roll back dev", "POST", dev + "/rollback", map[string]any{"to": "op-000000000000-000000"}, 404, 404, true},
		{"roll back prod", "POST", prod + "/rollback", map[string]any{"to": "op-000000000000-000000"}, 404, denied, true},
		{"cancel in dev", "POST", api + "/operations/" + devOp.ID + "/cancel", nil, 409, 409, true},
		{"cancel in prod", "POST", api + "/operations/" + prodOp.ID + "/cancel", nil, 409, denied, true},
		{"lock prod", "POST", prod + "/lock", map[string]any{"reason": "freeze"}, 201, denied, true},
		{"unlock prod", "DELETE", prod + "/lock", nil, 200, denied, true},
		{"set config", "POST", api + "/deployments/DAUTH01/config", map[string]any{"key": "stacks.p.config.greeting", "value": "hello"}, 200, denied, true},
		{"put manifest", "PUT", api + "/deployments/DAUTH01/manifest", nil, 200, denied, true},
		{"enable environment", "POST", dev + "/enable", nil, 200, denied, true},
		{"register stack by path", "POST", api + "/stacks", map[string]any{"nameOrPath": "/no/such/program"}, 400, denied, true},
		{"unregister stack", "DELETE", api + "/stacks/probe", nil, 400, denied, true},
		{"create template", "POST", api + "/templates", map[string]any{"name": "from-authz", "fromDeployment": "DAUTH01"}, 201, denied, true},
		{"delete template", "DELETE", api + "/templates/from-authz", nil, 204, denied, true},
		{"create deployment", "POST", api + "/deployments", map[string]any{"id": "DAUTH02", "organization": "acme", "project": "two"}, 201, denied, true},
		{"delete deployment", "DELETE", api + "/deployments/DAUTH02", nil, 200, denied, true},
	}
	manifest, _ := os.ReadFile(filepath.Join(srv.Home, "authz.yaml"))
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			// Denied roles first: a refused call must change nothing the
			// allowed one then relies on (the template, the deployment).
			for _, role := range []string{"viewer", "deployer", "admin"} {
				want := map[string]int{"admin": row.admin, "deployer": row.dep, "viewer": denied}[role]
				if role == "viewer" && !row.viewerDenied {
					want = row.dep
				}
				var status int
				var body map[string]any
				if row.name == "put manifest" {
					status, body = putYAML(t, row.url, tokens[role], manifest)
				} else {
					status, body, _ = call(t, row.method, row.url, tokens[role], row.body)
				}
				if status != want {
					t.Errorf("%s as %s: %d %v, want %d", row.name, role, status, body, want)
				}
				if want == denied && body["code"] != "FORBIDDEN" {
					t.Errorf("%s as %s: code %v, want FORBIDDEN", row.name, role, body["code"])
				}
				if want != denied && body["code"] == "FORBIDDEN" {
					t.Errorf("%s as %s: refused: %v", row.name, role, body)
				}
			}
		})
	}

	// GraphQL: the same core, the same answers.
	gqlRows := []struct {
		name           string
		doc            string
		vars           map[string]any
		admin, dep     string // error code when allowed ("" for none)
		viewerAllowed  bool
		deployerDenied bool
	}{
		{"deployments", `{ deployments { totalCount } }`, nil, "", "", true, false},
		{"secret outputs", `query($id: ID!) { outputs(deploymentId: $id, environment: "dev", showSecrets: true) { name } }`, map[string]any{"id": "DAUTH01"}, "", "", false, false},
		{"deploy dev", `mutation { deploy(input: {deploymentId: "DAUTH01", environment: "dev", stacks: ["nope"]}) { id } }`, nil, "BAD_USER_INPUT", "BAD_USER_INPUT", false, false},
		{"deploy prod", `mutation { deploy(input: {deploymentId: "DAUTH01", environment: "prod", stacks: ["nope"]}) { id } }`, nil, "BAD_USER_INPUT", "", false, true},
		{"rollback prod", `mutation { rollback(input: {deploymentId: "DAUTH01", environment: "prod", to: "op-000000000000-000000"}) { id } }`, nil, "NOT_FOUND", "", false, true},
		{"cancel in prod", `mutation($id: ID!) { cancelOperation(id: $id) { id } }`, map[string]any{"id": prodOp.ID}, "CONFLICT", "", false, true},
		{"set config", `mutation { setConfig(deploymentId: "DAUTH01", key: "stacks.p.config.greeting", value: "hey") { revision } }`, nil, "", "", false, true},
		{"register stack", `mutation { registerStack(nameOrPath: "/no/such/program") { name } }`, nil, "BAD_USER_INPUT", "", false, true},
		{"delete template", `mutation { deleteTemplate(name: "no-such-template") }`, nil, "NOT_FOUND", "", false, true},
		{"validate stack", `query { validateStack(name: "probe") { ok } }`, nil, "", "", false, false},
	}
	for _, row := range gqlRows {
		t.Run("graphql "+row.name, func(t *testing.T) {
			for _, role := range []string{"viewer", "deployer", "admin"} {
				wantDenied := (role == "viewer" && !row.viewerAllowed) || (role == "deployer" && row.deployerDenied)
				_, data, code, msg := gqlAs(t, srv.URL, tokens[role], row.doc, row.vars)
				switch {
				case wantDenied && code != "FORBIDDEN":
					t.Errorf("%s as %s: %s %q %s, want FORBIDDEN", row.name, role, code, msg, data)
				case !wantDenied:
					want := row.dep
					if role == "admin" {
						want = row.admin
					}
					if code != want {
						t.Errorf("%s as %s: code %q (%s), want %q", row.name, role, code, msg, want)
					}
				}
			}
		})
	}
}

// putYAML replaces DAUTH01's manifest.
func putYAML(t *testing.T, url, token string, yaml []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("PUT", url, bytes.NewReader(yaml))
	req.Header.Set("Content-Type", "application/yaml")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestAuth_SignIn: the dashboard's sign-in through the server against a
// real Cognito-compatible server: one answer for a wrong password and an
// unknown user, no tokens for a user without a role, tokens that work on
// the API for the others, and a refresh that keeps the username.
func TestAuth_SignIn(t *testing.T) {
	cog := cognitolocal.Start(t)
	pool := cog.CreatePool(t, "signin")
	cog.CreateUser(t, pool, "ada", "Passw0rd!ada", "admin")
	cog.CreateUser(t, pool, "nobody", "Passw0rd!nobody")
	home := t.TempDir()
	srv := servertest.Start(t, home, "--auth", "cognito", "--cognito-issuer", pool.Issuer, "--cognito-client-id", pool.ClientID,
		"--cognito-endpoint", cog.Endpoint, "--cognito-region", pool.Region)

	_, cfg, _ := call(t, "GET", srv.URL+"/auth/config", "", nil)
	c, _ := cfg["cognito"].(map[string]any)
	if cfg["mode"] != "cognito" || c["clientId"] != pool.ClientID || c["endpoint"] != cog.Endpoint || c["issuer"] != pool.Issuer {
		t.Errorf("/auth/config: %v", cfg)
	}
	for _, bad := range []map[string]string{{"username": "ada", "password": "wrong"}, {"username": "ghost", "password": "Passw0rd!x"}} {
		status, body, _ := call(t, "POST", srv.URL+"/auth/login", "", bad)
		if status != http.StatusUnauthorized || body["detail"] != "wrong username or password" {
			t.Errorf("login %s: %d %v", bad["username"], status, body)
		}
	}
	status, body, _ := call(t, "POST", srv.URL+"/auth/login", "", map[string]string{"username": "nobody", "password": "Passw0rd!nobody"})
	if status != http.StatusForbidden || body["code"] != "FORBIDDEN" || body["idToken"] != nil {
		t.Errorf("login of a user without a role: %d %v", status, body)
	}
	status, body, _ = call(t, "POST", srv.URL+"/auth/login", "", map[string]string{"username": "ada", "password": "Passw0rd!ada"})
	id, _ := body["idToken"].(string)
	if status != 200 || id == "" || body["username"] != "ada" || body["role"] != "admin" {
		t.Fatalf("login: %d %v", status, body)
	}
	if status, body, _ := call(t, "GET", srv.URL+"/api/v1/deployments", id, nil); status != 200 {
		t.Errorf("the signed-in token on REST: %d %v", status, body)
	}
	status, body, _ = call(t, "POST", srv.URL+"/auth/refresh", "", map[string]string{"refreshToken": body["refreshToken"].(string)})
	if status != 200 || body["idToken"] == "" || body["username"] != "ada" {
		t.Errorf("refresh: %d %v", status, body)
	}
	refresh, _ := body["refreshToken"].(string)
	status, body, _ = call(t, "POST", srv.URL+"/auth/refresh", "", map[string]string{"refreshToken": "not-a-token"})
	if status != http.StatusUnauthorized {
		t.Errorf("refresh with a bad token: %d %v", status, body)
	}
	// Signing out revokes the refresh token in Cognito.
	if status, body, _ := call(t, "POST", srv.URL+"/auth/logout", "", map[string]string{"refreshToken": refresh}); status != http.StatusNoContent {
		t.Errorf("logout: %d %v", status, body)
	}
	if status, body, _ := call(t, "POST", srv.URL+"/auth/refresh", "", map[string]string{"refreshToken": refresh}); status != http.StatusUnauthorized {
		t.Errorf("refresh after logout: %d %v", status, body)
	}
}
