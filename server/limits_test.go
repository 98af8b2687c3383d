package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/server"
	"github.com/cloudplatform/cloud/server/gqlws"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/coder/websocket"
)

// limited is a real server on a loopback port with the given limits, over
// a home holding one deployment (DLIMIT1, the demo template).
type limited struct {
	db  *store.DB
	url string
}

func startLimited(t *testing.T, lim server.Limits) *limited {
	t.Helper()
	ctx := context.Background()
	a, db := openApp(t)
	if _, err := a.Init(ctx, app.InitRequest{ID: "DLIMIT1", Organization: "acme", Project: "shop"}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server.New(server.Config{App: a, Limits: lim, Logger: slog.New(slog.DiscardHandler)}).Handler())
	t.Cleanup(hs.Close)
	return &limited{db: db, url: hs.URL}
}

// clientFrom is an HTTP client whose connections come from ip (Linux
// routes all of 127/8 to the loopback interface), so the server sees
// another client than http.DefaultClient's 127.0.0.1.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 30 * time.Second}
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func request(t *testing.T, method, url string, body io.Reader, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// gqlAnswer posts a GraphQL query and decodes its errors.
func gqlAnswer(t *testing.T, c *http.Client, base, query string) (answer, []gqlws.GraphQLError) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query})
	a := do(t, c, request(t, "POST", base+"/graphql", bytes.NewReader(b), "Content-Type", "application/json"))
	var res struct {
		Errors []gqlws.GraphQLError `json:"errors"`
	}
	if err := json.Unmarshal(a.body, &res); err != nil {
		t.Fatalf("GraphQL answer %d is not JSON: %s", a.status, a.body)
	}
	return a, res.Errors
}

func code(errs []gqlws.GraphQLError) string {
	if len(errs) == 0 {
		return ""
	}
	c, _ := errs[0].Extensions["code"].(string)
	return c
}

// problemCode decodes a problem document's code, failing unless the
// answer is one.
func problemCode(t *testing.T, a answer) string {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, a.body)
	}
	var p struct {
		Code   string `json:"code"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(a.body, &p); err != nil || p.Status != a.status {
		t.Fatalf("not a problem document of status %d: %s", a.status, a.body)
	}
	return p.Code
}

func TestLimits_BodySize(t *testing.T) {
	const limit = server.DefaultMaxBodyBytes
	s := startLimited(t, server.Limits{})
	manifestURL := s.url + "/api/v1/deployments/DLIMIT1/manifest"
	m := do(t, nil, request(t, "GET", manifestURL, nil, "Accept", "application/yaml"))
	if m.status != http.StatusOK {
		t.Fatalf("GET manifest: %d %s", m.status, m.body)
	}
	// pad grows a document to exactly n bytes with a trailing comment.
	pad := func(doc []byte, n int) []byte {
		out := append(bytes.Clone(doc), "\n# "...)
		out = append(out, bytes.Repeat([]byte("x"), n-len(out)-1)...)
		return append(out, '\n')
	}

	t.Run("REST", func(t *testing.T) {
		a := do(t, nil, request(t, "PUT", manifestURL, bytes.NewReader(pad(m.body, limit)), "Content-Type", "application/yaml"))
		if a.status != http.StatusOK {
			t.Fatalf("a manifest of exactly the limit: status %d, want 200: %.300s", a.status, a.body)
		}
		a = do(t, nil, request(t, "PUT", manifestURL, bytes.NewReader(pad(m.body, limit+1)), "Content-Type", "application/yaml"))
		if got, want := a.status, http.StatusRequestEntityTooLarge; got != want {
			t.Fatalf("a manifest one byte over: status %d, want %d: %.300s", got, want, a.body)
		}
		if got, want := problemCode(t, a), "PAYLOAD_TOO_LARGE"; got != want {
			t.Errorf("code %q, want %q", got, want)
		}
	})

	query := func(n int) []byte { // a valid query of exactly n bytes
		head, tail := `{"query":"{ deployments { nodes { id } } }`, `"}`
		return []byte(head + strings.Repeat(" ", n-len(head)-len(tail)) + tail)
	}
	t.Run("GraphQL", func(t *testing.T) {
		a := do(t, nil, request(t, "POST", s.url+"/graphql", bytes.NewReader(query(limit)), "Content-Type", "application/json"))
		if a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`"DLIMIT1"`)) {
			t.Fatalf("a query of exactly the limit: status %d: %.300s", a.status, a.body)
		}
		for _, chunked := range []bool{false, true} {
			var body io.Reader = bytes.NewReader(query(limit + 1))
			if chunked { // no Content-Length: the server finds out by reading
				body = io.MultiReader(body)
			}
			a = do(t, nil, request(t, "POST", s.url+"/graphql", body, "Content-Type", "application/json"))
			var res struct {
				Errors []gqlws.GraphQLError `json:"errors"`
			}
			json.Unmarshal(a.body, &res)
			if a.status != http.StatusRequestEntityTooLarge || code(res.Errors) != "PAYLOAD_TOO_LARGE" {
				t.Errorf("a query one byte over (chunked %v): status %d, body %.300s; want 413 and a GraphQL error PAYLOAD_TOO_LARGE",
					chunked, a.status, a.body)
			}
		}
	})
}

// typeRef is the TypeRef fragment of graphql-js's introspection query
// (GraphiQL's), with ofType nested nine times.
var typeRef = "fragment TypeRef on __Type { kind name" + strings.Repeat(" ofType { kind name", 9) + strings.Repeat(" }", 10)

func TestLimits_QueryDepthAndComplexity(t *testing.T) {
	// The schema has no cycles and gqlparser already bounds
	// introspection's, so no query reaches the default depth of 12
	// today; a server with a lower limit shows the check at work.
	def, shallow := startLimited(t, server.Limits{}), startLimited(t, server.Limits{MaxQueryDepth: 5})
	// With the default bounds a document over the complexity limit is
	// over the selection bound too (each selection costs at least 1):
	// complexity is seen at work without it.
	unbounded := startLimited(t, server.Limits{MaxSelections: -1})
	tests := []struct {
		name   string
		s      *limited
		query  string
		code   string // "" when the query must run
		levels int    // the depth the error names
	}{
		{"too deep", shallow, "{ deployments { nodes { environments { lastOperation { stacks { stack } } } } } }", "QUERY_TOO_DEEP", 6},
		{"too deep through fragments", shallow, `{ deployments { ...D } }
			fragment D on DeploymentConnection { nodes { ... on Deployment { environments { ...E } } } }
			fragment E on Environment { lastOperation { stacks { stack } } }`, "QUERY_TOO_DEEP", 6},
		{"too deep in introspection", shallow, "{ __schema { types { fields { args { type { name } } } } } }", "QUERY_TOO_DEEP", 6},
		{"at the limit", shallow, "{ deployments { nodes { environments { lastOperation { id } } } } }", "", 0},
		{"ofType unwraps without counting", shallow,
			`{ __type(name: "Query") { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } }`, "", 0},
		{"introspection as GraphiQL asks it", def, `query IntrospectionQuery { __schema { queryType { name } mutationType { name }
			subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } }
			fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue }
			type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef }
			enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
			fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue } ` + typeRef, "", 0},
		{"the dashboard's deployment page", def, `query($id: ID! = "DLIMIT1", $env: String! = "dev") {
			deployment(id: $id) { id organization project domain status environments { name status }
			environment(name: $env) { name status region stacks { name layer enabled status reason dependencies resourceCount }
			outputs { stack name value secret redacted } }
			operations(environment: $env, first: 20) { nodes { id kind status startedAt finishedAt duration actor
			stacks { stack status reason error startedAt finishedAt changes resourceCount } } } } }`, "", 0},
		{"too complex", unbounded, "{" + strings.Repeat(" deployments { nodes { id status organization project } }", 101) + " }",
			"COMPLEXITY_LIMIT_EXCEEDED", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, errs := gqlAnswer(t, nil, tt.s.url, tt.query)
			if got := code(errs); got != tt.code {
				t.Fatalf("status %d, code %q, want %q: %.500s", a.status, got, tt.code, a.body)
			}
			if tt.levels > 0 {
				if want := fmt.Sprintf("%d levels deep; the limit is 5", tt.levels); !strings.Contains(errs[0].Message, want) {
					t.Errorf("the error %q does not say %q", errs[0].Message, want)
				}
			}
			if tt.code != "" && bytes.Contains(a.body, []byte(`"data":{`)) {
				t.Errorf("refused query ran: %.300s", a.body)
			}
		})
	}
}

func TestLimits_RateLimit(t *testing.T) {
	s := startLimited(t, server.Limits{RatePerSecond: 1, Burst: 3})
	list := s.url + "/api/v1/deployments"
	for i := range 3 {
		if a := do(t, nil, request(t, "GET", list, nil)); a.status != http.StatusOK {
			t.Fatalf("request %d of a burst of 3: status %d: %s", i+1, a.status, a.body)
		}
	}
	a := do(t, nil, request(t, "GET", list, nil))
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("request 4 of a burst of 3: status %d, want 429", a.status)
	}
	if got := problemCode(t, a); got != "RATE_LIMITED" {
		t.Errorf("code %q, want RATE_LIMITED", got)
	}
	retry, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || retry < 1 {
		t.Fatalf("Retry-After %q: want whole seconds, at least 1", a.header.Get("Retry-After"))
	}
	if a, errs := gqlAnswer(t, nil, s.url, "{ deployments { nodes { id } } }"); a.status != http.StatusTooManyRequests ||
		code(errs) != "RATE_LIMITED" || a.header.Get("Retry-After") == "" {
		t.Errorf("GraphQL over the limit: status %d, Retry-After %q: %s", a.status, a.header.Get("Retry-After"), a.body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/", "/assets/app.js"} {
		if a := do(t, nil, request(t, "GET", s.url+path, nil)); a.status != http.StatusOK {
			t.Errorf("%s is exempt, got status %d", path, a.status)
		}
	}
	// Another address is another client.
	other := clientFrom("127.0.0.2")
	if a := do(t, other, request(t, "GET", list, nil)); a.status != http.StatusOK {
		t.Fatalf("another client meanwhile: status %d: %s", a.status, a.body)
	}
	// Only the proxy's word counts, and only when trusted.
	if a := do(t, nil, request(t, "GET", list, nil, "X-Forwarded-For", "198.51.100.7")); a.status != http.StatusTooManyRequests {
		t.Errorf("X-Forwarded-For chose the client without TrustProxy: status %d", a.status)
	}

	time.Sleep(time.Duration(retry) * time.Second)
	if a := do(t, nil, request(t, "GET", list, nil)); a.status != http.StatusOK {
		t.Fatalf("after Retry-After: status %d: %s", a.status, a.body)
	}

	m := do(t, nil, request(t, "GET", s.url+"/metrics", nil))
	if !bytes.Contains(m.body, []byte("cloud_http_rate_limited_total 3")) {
		t.Errorf("metrics do not count the 3 refusals:\n%s", grep(m.body, "rate_limited"))
	}
}

func grep(b []byte, s string) string {
	var out []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestLimits_TrustProxy(t *testing.T) {
	s := startLimited(t, server.Limits{RatePerSecond: 0.01, Burst: 1, TrustProxy: true})
	list := s.url + "/api/v1/deployments"
	for _, xff := range []string{"198.51.100.7", "198.51.100.8, 10.0.0.1"} {
		if a := do(t, nil, request(t, "GET", list, nil, "X-Forwarded-For", xff)); a.status != http.StatusOK {
			t.Fatalf("first request as %s: status %d", xff, a.status)
		}
	}
	if a := do(t, nil, request(t, "GET", list, nil, "X-Forwarded-For", "198.51.100.8, 10.0.0.2")); a.status != http.StatusTooManyRequests {
		t.Fatalf("second request of the left-most address: status %d, want 429", a.status)
	}
}

// wsURL is the GraphQL WebSocket endpoint of a server.
func wsURL(base string) string { return strings.Replace(base, "http://", "ws://", 1) + "/graphql" }

func TestLimits_WebSockets(t *testing.T) {
	s := startLimited(t, server.Limits{MaxWebSockets: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conns := make([]*gqlws.Conn, 2)
	for i := range conns {
		c, err := gqlws.Dial(ctx, wsURL(s.url), gqlws.Options{})
		if err != nil {
			t.Fatalf("connection %d of 2: %v", i+1, err)
		}
		defer c.Close()
		conns[i] = c
	}
	_, resp, err := websocket.Dial(ctx, wsURL(s.url), &websocket.DialOptions{Subprotocols: []string{gqlws.Subprotocol}})
	if err == nil {
		t.Fatal("a third connection was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a third connection: %v (response %+v), want 429 with Retry-After", err, resp)
	}
	// Another client has connections of its own.
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	ws2, _, err := websocket.Dial(ctx, wsURL(s.url), &websocket.DialOptions{Subprotocols: []string{gqlws.Subprotocol},
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}})
	if err != nil {
		t.Fatalf("another client's connection: %v", err)
	}
	ws2.CloseNow()

	// The open ones still work.
	op := beginOperation(t, s.db)
	sub, _, err := conns[1].Subscribe(ctx, operationEventsSub, map[string]any{"op": op.ID, "after": op.LastSeq})
	if err != nil {
		t.Fatal(err)
	}
	appendEvent(t, s.db, op)
	expectEvent(t, sub, "operationEvents")

	// A closed one frees its slot (once the server has seen it go).
	conns[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := gqlws.Dial(ctx, wsURL(s.url), gqlws.Options{})
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection accepted after one closed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openApp opens an App in a fresh home over a store the test keeps: to
// record what no door records (operations and events of its own making).
func openApp(t testing.TB) (*app.App, *store.DB) {
	t.Helper()
	ctx := context.Background()
	cfg := app.Config{Home: t.TempDir()}
	db, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = db
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); db.Close() })
	return a, db
}

func beginOperation(t *testing.T, db *store.DB) *store.Operation {
	t.Helper()
	op := &store.Operation{DeploymentID: "DLIMIT1", Environment: "dev", Kind: vocab.KindDeploy, Status: vocab.OpRunning,
		Revision: 1, StartedAt: time.Now()}
	if err := db.BeginOperation(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	return op
}

func appendEvent(t *testing.T, db *store.DB, op *store.Operation) {
	t.Helper()
	e := &store.Event{OperationID: op.ID, Stack: "app", Kind: vocab.EventEngine,
		Payload: json.RawMessage(`{"type":"resourcePreEvent","urn":"urn:pulumi:dev::shop::probe:index:Thing::t1"}`)}
	if err := db.AppendEvent(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

// expectEvent waits for a subscription's next result and fails unless it
// carries events.
func expectEvent(t *testing.T, sub <-chan gqlws.Result, field string) {
	t.Helper()
	select {
	case r, ok := <-sub:
		if !ok {
			t.Fatal("the subscription ended")
		}
		if m := next(t, r, field); len(m.Events) == 0 {
			t.Fatalf("a result without events: %s", r.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
}

func TestLimits_Subscriptions(t *testing.T) {
	s := startLimited(t, server.Limits{MaxSubscriptions: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	op := beginOperation(t, s.db)
	vars := map[string]any{"op": op.ID, "after": op.LastSeq}
	c1, c2 := dial(t, s.url), dial(t, s.url)
	subA, stopA, err := c1.Subscribe(ctx, operationEventsSub, vars)
	if err != nil {
		t.Fatal(err)
	}
	subB, _, err := c2.Subscribe(ctx, operationEventsSub, vars)
	if err != nil {
		t.Fatal(err)
	}
	// The subscriptions are counted once they run: wait for A and B to
	// have received something.
	appendEvent(t, s.db, op)
	expectEvent(t, subA, "operationEvents")
	expectEvent(t, subB, "operationEvents")

	// A third, on either connection, is refused with an error.
	subC, _, err := c1.Subscribe(ctx, operationEventsSub, vars)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-subC:
		if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "too many subscriptions (limit 2)") {
			t.Fatalf("a third subscription got %+v, want the error \"too many subscriptions (limit 2)\"", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a third subscription got no answer")
	}
	select {
	case _, open := <-subC:
		if open {
			t.Fatal("the refused subscription goes on")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the refused subscription was not completed")
	}

	// The others go on, on a connection that is still usable.
	appendEvent(t, s.db, op)
	expectEvent(t, subA, "operationEvents")
	expectEvent(t, subB, "operationEvents")

	// Once one ends, a new one is accepted.
	stopA()
	for range subA {
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		subD, _, err := c1.Subscribe(ctx, operationEventsSub, map[string]any{"op": op.ID, "after": 0})
		if err != nil {
			t.Fatal(err)
		}
		r := <-subD
		if len(r.Errors) == 0 {
			if m := next(t, r, "operationEvents"); len(m.Events) == 0 {
				t.Fatalf("the new subscription's first result has no events: %s", r.Data)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new subscription accepted after one ended: %v", r.Errors)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c1.Err() != nil || c2.Err() != nil {
		t.Fatalf("a connection ended: %v, %v", c1.Err(), c2.Err())
	}
}

func TestLimits_CORS(t *testing.T) {
	preflight := func(url, origin string) *http.Request {
		return request(t, "OPTIONS", url, nil, "Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type, authorization")
	}
	t.Run("off by default", func(t *testing.T) {
		s := startLimited(t, server.Limits{})
		for _, req := range []*http.Request{
			request(t, "GET", s.url+"/api/v1/deployments", nil, "Origin", "https://evil.example"),
			preflight(s.url+"/api/v1/deployments", "https://evil.example"),
			preflight(s.url+"/graphql", "https://evil.example"),
		} {
			a := do(t, nil, req)
			for k := range a.header {
				if strings.HasPrefix(k, "Access-Control-Allow-") {
					t.Errorf("%s %s: %s: %q without CORS configured", req.Method, req.URL.Path, k, a.header.Get(k))
				}
			}
		}
	})
	t.Run("configured", func(t *testing.T) {
		const allowed = "https://app.example.com"
		s := startLimited(t, server.Limits{CORSOrigins: []string{allowed}})
		for _, path := range []string{"/api/v1/deployments", "/graphql"} {
			a := do(t, nil, preflight(s.url+path, allowed))
			if a.status != http.StatusNoContent || a.header.Get("Access-Control-Allow-Origin") != allowed ||
				!strings.Contains(a.header.Get("Access-Control-Allow-Methods"), "POST") ||
				!strings.Contains(strings.ToLower(a.header.Get("Access-Control-Allow-Headers")), "authorization") {
				t.Errorf("preflight of %s from %s: status %d, headers %v", path, allowed, a.status, a.header)
			}
			a = do(t, nil, preflight(s.url+path, "https://evil.example"))
			if got := a.header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("preflight of %s from another origin granted: %q", path, got)
			}
		}
		a := do(t, nil, request(t, "GET", s.url+"/api/v1/deployments", nil, "Origin", allowed))
		if a.status != http.StatusOK || a.header.Get("Access-Control-Allow-Origin") != allowed {
			t.Errorf("GET from %s: status %d, Access-Control-Allow-Origin %q", allowed, a.status, a.header.Get("Access-Control-Allow-Origin"))
		}
		a = do(t, nil, request(t, "GET", s.url+"/api/v1/deployments", nil, "Origin", "https://evil.example"))
		if got := a.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("GET from another origin: Access-Control-Allow-Origin %q", got)
		}
	})
}

func TestLimits_SecurityHeaders(t *testing.T) {
	s := startLimited(t, server.Limits{})
	for _, tt := range []struct {
		path      string
		dashboard bool
	}{
		{"/", true},
		{"/assets/app.js", true},
		{"/api/v1/deployments", false},
		{"/api/v1/nope", false},
		{"/graphql/playground", false},
	} {
		a := do(t, nil, request(t, "GET", s.url+tt.path, nil))
		if got := a.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", tt.path, got)
		}
		if got := a.header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q", tt.path, got)
		}
		csp := a.header.Get("Content-Security-Policy")
		if tt.dashboard || tt.path == "/graphql/playground" {
			if a.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s may be framed: X-Frame-Options %q, CSP %q", tt.path, a.header.Get("X-Frame-Options"), csp)
			}
		}
		if tt.dashboard && (!strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'")) {
			t.Errorf("%s: CSP %q", tt.path, csp)
		}
	}
}
