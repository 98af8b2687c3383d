package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/cloudplatform/cloud/server/rest"
	"github.com/cloudplatform/cloud/server/servertest"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"
)

// client sends requests to a real `cloud serve` and checks each request
// and its response against the OpenAPI document the server serves.
type client struct {
	t    *testing.T
	base string // http://127.0.0.1:PORT
	v    validator.Validator
	// checked counts validated responses by route, to check every route
	// of the document was exercised.
	checked map[string]bool
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	served, _ := io.ReadAll(resp.Body)
	embedded, err := rest.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(served, embedded) {
		t.Fatalf("GET /api/v1/openapi.json: %d, %d bytes; want 200 and the embedded document", resp.StatusCode, len(served))
	}
	doc, err := libopenapi.NewDocument(served)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	return &client{t: t, base: base, v: v, checked: map[string]bool{}}
}

// call is one request.
type call struct {
	method, path string
	body         []byte
	ctype        string
	accept       string
	// invalid marks a request that breaks the document on purpose (to
	// test the error): it is not validated, its response still is.
	invalid bool
	// undocumented marks a request to a route the document does not have
	// (unknown path, wrong method): nothing is validated.
	undocumented bool
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (c *client) do(req call) reply {
	c.t.Helper()
	build := func() *http.Request {
		var body io.Reader
		if req.body != nil {
			body = bytes.NewReader(req.body)
		}
		r, err := http.NewRequest(req.method, c.base+req.path, body)
		if err != nil {
			c.t.Fatal(err)
		}
		if req.ctype != "" {
			r.Header.Set("Content-Type", req.ctype)
		}
		if req.accept != "" {
			r.Header.Set("Accept", req.accept)
		}
		return r
	}
	if !req.invalid && !req.undocumented {
		if ok, errs := c.v.ValidateHttpRequestSync(build()); !ok {
			c.t.Errorf("%s %s: the request does not match the document:%s", req.method, req.path, describe(errs))
		}
	}
	resp, err := http.DefaultClient.Do(build())
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", req.method, req.path, err)
	}
	rp := reply{status: resp.StatusCode, header: resp.Header, body: b}
	if !req.undocumented {
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if ok, errs := c.v.ValidateHttpResponse(build(), resp); !ok {
			c.t.Errorf("%s %s: the %d response does not match the document:%s\n%s", req.method, req.path, resp.StatusCode, describe(errs), clip(b))
		}
		c.checked[req.method+" "+route(req.path)] = true
	}
	return rp
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s: %s", se.FieldPath, se.Reason)
		}
	}
	return b.String()
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// json sends in as JSON (nil: no body), wants status and decodes into out.
func (c *client) json(method, path string, in any, want int, out any) reply {
	c.t.Helper()
	req := call{method: method, path: path}
	if in != nil {
		req.body, _ = json.Marshal(in)
		req.ctype = "application/json"
	}
	r := c.do(req)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, clip(r.body))
	}
	if want != http.StatusNoContent {
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			c.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
		}
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, clip(r.body), err)
		}
	}
	return r
}

// problem sends req and checks the answer is a problem document with the
// status and code.
func (c *client) problem(req call, status int, code string) rest.Problem {
	c.t.Helper()
	r := c.do(req)
	if r.status != status {
		c.t.Fatalf("%s %s: status %d, want %d: %s", req.method, req.path, r.status, status, clip(r.body))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		c.t.Errorf("%s %s: Content-Type %q, want application/problem+json", req.method, req.path, ct)
	}
	var p rest.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		c.t.Fatalf("%s %s: decode problem %s: %v", req.method, req.path, r.body, err)
	}
	if p.Status != status || p.Code != code || p.Title == "" || p.Detail == "" || p.Type == "" {
		c.t.Errorf("%s %s: problem %+v, want status %d code %s with title, detail and type", req.method, req.path, p, status, code)
	}
	if want := strings.SplitN(req.path, "?", 2)[0]; p.Instance != want {
		c.t.Errorf("%s %s: instance %q, want %q", req.method, req.path, p.Instance, want)
	}
	return p
}

// route maps a request path back to the document's path template.
func route(path string) string {
	path = strings.TrimPrefix(strings.SplitN(path, "?", 2)[0], "/api/v1")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	wild := func(i int, name, after string) {
		if i < len(segs) && (after == "" || segs[i-1] == after) {
			segs[i] = name
		}
	}
	switch segs[0] {
	case "deployments":
		wild(1, "{id}", "")
		wild(3, "{env}", "environments")
		wild(5, "{stack}", "stacks")
		wild(3, "{key}", "config")
	case "operations":
		wild(1, "{id}", "")
	case "stacks", "templates":
		wild(1, "{name}", "")
	case "sync":
		wild(2, "{id}", "conflicts")
	}
	return "/" + strings.Join(segs, "/")
}

type operation struct {
	ID, Status, Kind, Environment, Error string
	LastSeq                              int
	Stacks                               []struct{ Stack, Status string }
}

// wait polls an operation until it ends.
func (c *client) wait(id string) operation {
	c.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var op operation
		c.json("GET", "/api/v1/operations/"+id, nil, http.StatusOK, &op)
		if op.Status != "queued" && op.Status != "running" {
			return op
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("operation %s still %s after 3 minutes", id, op.Status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// started checks a 202 answer: the operation running, its Location.
func (c *client) start(path string, in any) operation {
	c.t.Helper()
	var op operation
	r := c.json("POST", path, in, http.StatusAccepted, &op)
	if want := "/api/v1/operations/" + op.ID; op.ID == "" || r.header.Get("Location") != want {
		c.t.Fatalf("POST %s: Location %q, want %q", path, r.header.Get("Location"), want)
	}
	return op
}

type page struct {
	Items      []json.RawMessage
	NextCursor *string
	TotalCount int
}

type eventPage struct {
	Items []struct {
		Seq, GlobalSeq int
		Kind, Stack    string
		OperationID    string
	}
	NextCursor *string
	LastSeq    int
}

const probeManifest = `version: 1
deployment_id: DREST02
organization: acme
project: probe
environments:
  dev: {region: eu-west-1}
stacks:
  quick: {program: probe, config: {greeting: hi}}
  second: {program: probe, dependencies: [quick], config: {greeting: hello}}
`

// TestREST exercises every route against a real `cloud serve`: the demo
// deployment is created, deployed once and followed through REST, and
// every request and response is validated against the OpenAPI document.
func TestREST(t *testing.T) {
	home := t.TempDir()
	// The test calls every route, faster than the default rate limit
	// lets one client (limits are tested in server/).
	srv := servertest.Start(t, home, "--rate-limit", "-1")
	c := newClient(t, srv.URL)
	api := "/api/v1"
	c.json("GET", api+"/openapi.json", nil, http.StatusOK, nil)
	d1 := api + "/deployments/DREST01"
	dev := d1 + "/environments/dev"

	// Create: from the demo template (JSON), and from a manifest (YAML).
	var dep struct {
		ID           string
		Revision     int
		Environments []struct{ Name, Status string }
	}
	r := c.json("POST", api+"/deployments", map[string]any{"id": "DREST01", "organization": "acme", "project": "shop",
		"domain": "shop.example.com", "accounts": []map[string]string{{"environment": "prod", "accountId": "123456789012"}}},
		http.StatusCreated, &dep)
	if r.header.Get("Location") != d1 || dep.ID != "DREST01" || len(dep.Environments) != 3 {
		t.Fatalf("created %+v at %q", dep, r.header.Get("Location"))
	}
	r = c.do(call{method: "POST", path: api + "/deployments", body: []byte(probeManifest), ctype: "application/yaml"})
	if r.status != http.StatusCreated || r.header.Get("Location") != api+"/deployments/DREST02" {
		t.Fatalf("create from YAML: %d %s", r.status, r.body)
	}
	c.problem(call{method: "POST", path: api + "/deployments", body: []byte(`{"id":"DREST01","organization":"acme","project":"shop"}`),
		ctype: "application/json"}, http.StatusBadRequest, "BAD_USER_INPUT")

	// Pagination by opaque cursor.
	var p1, p2 page
	c.json("GET", api+"/deployments?first=1", nil, http.StatusOK, &p1)
	if len(p1.Items) != 1 || p1.NextCursor == nil || p1.TotalCount != 2 {
		t.Fatalf("first page %+v", p1)
	}
	c.json("GET", api+"/deployments?first=1&includeDestroyed=false&after="+url.QueryEscape(*p1.NextCursor), nil, http.StatusOK, &p2)
	if len(p2.Items) != 1 || p2.NextCursor != nil || string(p1.Items[0]) == string(p2.Items[0]) {
		t.Fatalf("second page %+v", p2)
	}
	c.json("GET", d1, nil, http.StatusOK, &dep)

	// The manifest: JSON with its metadata, YAML as it is; revisions.
	var rev struct {
		Revision int
		YAML     string
	}
	c.json("GET", d1+"/manifest", nil, http.StatusOK, &rev)
	r = c.do(call{method: "GET", path: d1 + "/manifest", accept: "application/yaml"})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/yaml" || string(r.body) != rev.YAML {
		t.Fatalf("manifest as YAML: %d %q %.200s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var change struct {
		Revision int
		Changed  bool
	}
	r = c.do(call{method: "PUT", path: d1 + "/manifest", body: []byte(rev.YAML), ctype: "application/yaml"})
	if json.Unmarshal(r.body, &change); r.status != http.StatusOK || change.Changed || change.Revision != rev.Revision {
		t.Fatalf("PUT of the same manifest: %d %s", r.status, r.body)
	}
	edited := strings.Replace(rev.YAML, "replicas: 2", "replicas: 3", 1)
	c.json("PUT", d1+"/manifest", map[string]string{"yaml": edited}, http.StatusOK, &change)
	if !change.Changed || change.Revision != rev.Revision+1 {
		t.Fatalf("PUT of an edited manifest: %+v", change)
	}
	c.json("POST", d1+"/config", map[string]string{"key": "stacks.app.config.replicas", "value": "2"}, http.StatusOK, &change)
	var revs page
	c.json("GET", d1+"/manifest/revisions?first=2", nil, http.StatusOK, &revs)
	if revs.TotalCount != 3 || len(revs.Items) != 2 || revs.NextCursor == nil {
		t.Fatalf("revisions %+v", revs)
	}
	c.json("DELETE", d1+"/config/stacks.app.config.replicas", nil, http.StatusOK, &change)
	if !change.Changed || change.Revision != 4 {
		t.Fatalf("DELETE of a config key: %+v", change)
	}
	c.problem(call{method: "DELETE", path: d1 + "/config/stacks.app.config.replicas"}, http.StatusBadRequest, "BAD_USER_INPUT")
	c.json("GET", d1+"/manifest?revision=1", nil, http.StatusOK, &rev)
	c.problem(call{method: "GET", path: d1 + "/manifest?revision=99"}, http.StatusNotFound, "NOT_FOUND")

	// Environments, stacks, plan, validation, lock.
	var envs page
	c.json("GET", d1+"/environments", nil, http.StatusOK, &envs)
	if envs.TotalCount != 3 {
		t.Fatalf("environments %+v", envs)
	}
	c.json("GET", dev, nil, http.StatusOK, nil)
	var states page
	c.json("GET", dev+"/stacks", nil, http.StatusOK, &states)
	if states.TotalCount != 6 {
		t.Fatalf("%d stacks, want the demo's 6", states.TotalCount)
	}
	c.json("GET", dev+"/stacks/network", nil, http.StatusOK, nil)
	c.problem(call{method: "GET", path: dev + "/stacks/nope"}, http.StatusNotFound, "NOT_FOUND")
	var plan struct{ Layers [][]string }
	c.json("GET", dev+"/plan", nil, http.StatusOK, &plan)
	if len(plan.Layers) == 0 || plan.Layers[0][0] != "network" {
		t.Errorf("plan layers %v", plan.Layers)
	}
	var valid struct{ OK bool }
	c.json("POST", d1+"/validate?environment=dev", nil, http.StatusOK, &valid)
	c.json("POST", d1+"/validate", nil, http.StatusOK, nil)
	c.json("GET", dev+"/rollback-candidates", nil, http.StatusOK, nil)
	c.json("POST", d1+"/environments/stage/disable", map[string]any{}, http.StatusOK, nil)
	c.json("POST", d1+"/environments/stage/enable", nil, http.StatusOK, nil)
	c.json("POST", dev+"/enable", map[string]any{"stacks": []string{"monitoring"}}, http.StatusOK, nil)

	// 409: a deploy while the environment is locked.
	var lock struct{ ID string }
	r = c.json("POST", dev+"/lock", map[string]string{"reason": "change freeze"}, http.StatusCreated, &lock)
	if r.header.Get("Location") != api+"/operations/"+lock.ID {
		t.Errorf("lock Location %q", r.header.Get("Location"))
	}
	var ls struct {
		Locked bool
		Holder *struct{ ID, Kind string }
	}
	c.json("GET", dev+"/lock", nil, http.StatusOK, &ls)
	if !ls.Locked || ls.Holder == nil || ls.Holder.ID != lock.ID || ls.Holder.Kind != "lock" {
		t.Fatalf("lock state %+v", ls)
	}
	busy := c.problem(call{method: "POST", path: dev + "/deploy", body: []byte(`{}`), ctype: "application/json"},
		http.StatusConflict, "OPERATION_IN_PROGRESS")
	if busy.OperationID != lock.ID || !strings.Contains(busy.Detail, "change freeze") {
		t.Errorf("busy problem %+v does not name the lock", busy)
	}
	c.problem(call{method: "POST", path: dev + "/lock", body: []byte(`{"reason":"again"}`), ctype: "application/json"},
		http.StatusConflict, "OPERATION_IN_PROGRESS")
	for _, kind := range []string{"preview", "destroy", "refresh"} {
		c.problem(call{method: "POST", path: dev + "/" + kind, body: []byte(`{"failFast":true}`), ctype: "application/json"},
			http.StatusConflict, "OPERATION_IN_PROGRESS")
	}
	c.json("DELETE", dev+"/lock", nil, http.StatusOK, nil)
	c.json("GET", dev+"/lock", nil, http.StatusOK, &ls)
	if ls.Locked {
		t.Fatalf("still locked after DELETE: %+v", ls)
	}
	c.problem(call{method: "DELETE", path: dev + "/lock?force=false"}, http.StatusBadRequest, "BAD_USER_INPUT")

	// The one real deploy: 202, then poll the operation and read its events.
	deploy := c.start(dev+"/deploy", nil)
	if deploy.Status != "running" || deploy.Kind != "deploy" {
		t.Errorf("202 body: %+v", deploy)
	}
	if op := c.wait(deploy.ID); op.Status != "succeeded" {
		t.Fatalf("deploy %s: %s", op.Status, op.Error)
	}
	var evs, next, statuses eventPage
	c.json("GET", api+"/operations/"+deploy.ID+"/events?first=5", nil, http.StatusOK, &evs)
	if len(evs.Items) != 5 || evs.NextCursor == nil || evs.LastSeq != 5 {
		t.Fatalf("first events page: %d items, cursor %v, lastSeq %d", len(evs.Items), evs.NextCursor, evs.LastSeq)
	}
	c.json("GET", api+"/operations/"+deploy.ID+"/events?first=5&after="+url.QueryEscape(*evs.NextCursor), nil, http.StatusOK, &next)
	if len(next.Items) == 0 || next.Items[0].Seq != 6 {
		t.Fatalf("events after the cursor start at %+v, want seq 6", next.Items)
	}
	c.json("GET", api+"/operations/"+deploy.ID+"/events?afterSeq=5&first=1", nil, http.StatusOK, &next)
	if len(next.Items) != 1 || next.Items[0].Seq != 6 {
		t.Fatalf("events afterSeq=5: %+v", next.Items)
	}
	c.json("GET", api+"/operations/"+deploy.ID+"/events?kind=stack.status&stack=network&stack=app&first=500", nil, http.StatusOK, &statuses)
	for _, e := range statuses.Items {
		if e.Kind != "stack.status" || (e.Stack != "network" && e.Stack != "app" && e.Stack != "") {
			t.Errorf("filtered events hold %s of %q", e.Kind, e.Stack)
		}
	}
	c.json("GET", d1+"/events?environment=dev&first=10", nil, http.StatusOK, &next)
	if len(next.Items) != 10 || next.LastSeq != next.Items[9].GlobalSeq {
		t.Fatalf("deployment events: %d items, lastSeq %d", len(next.Items), next.LastSeq)
	}
	var ops page
	c.json("GET", d1+"/operations?environment=dev&first=1", nil, http.StatusOK, &ops)
	if ops.TotalCount < 2 || len(ops.Items) != 1 { // the lock and the deploy
		t.Fatalf("operations %+v", ops)
	}

	// Outputs: secrets redacted unless asked for.
	type output struct {
		Stack, Name      string
		Value            any
		Secret, Redacted bool
	}
	var outs struct{ Items []output }
	c.json("GET", dev+"/outputs", nil, http.StatusOK, &outs)
	found := false
	for _, o := range outs.Items {
		if o.Secret && (o.Value != nil || !o.Redacted) {
			t.Errorf("secret output %s.%s shown without showSecrets: %v", o.Stack, o.Name, o.Value)
		}
		found = found || (o.Stack == "database" && o.Name == "password")
	}
	if !found {
		t.Fatalf("no database.password output in %+v", outs.Items)
	}
	c.json("GET", dev+"/stacks/database/outputs?showSecrets=true", nil, http.StatusOK, &outs)
	for _, o := range outs.Items {
		if o.Name == "password" && o.Value != "change-me" {
			t.Errorf("database.password with showSecrets = %v", o.Value)
		}
	}
	c.json("GET", dev+"/outputs?stack=app", nil, http.StatusOK, nil)

	// Operations on one stack, a rollback, a cancel of a finished operation.
	c.problem(call{method: "POST", path: dev + "/stacks/app/destroy"}, http.StatusBadRequest, "BAD_USER_INPUT") // deployed dependents
	refresh := c.start(dev+"/stacks/monitoring/refresh", map[string]any{"parallel": 1})
	if op := c.wait(refresh.ID); op.Status != "succeeded" {
		t.Fatalf("refresh of monitoring %s: %s", op.Status, op.Error)
	}
	var cands struct{ Items []operation }
	c.json("GET", dev+"/rollback-candidates", nil, http.StatusOK, &cands)
	if len(cands.Items) == 0 || cands.Items[0].ID != deploy.ID {
		t.Fatalf("rollback candidates %+v, want the deploy %s", cands.Items, deploy.ID)
	}
	rb := c.start(dev+"/rollback", map[string]any{"to": deploy.ID})
	if op := c.wait(rb.ID); op.Status != "succeeded" {
		t.Fatalf("rollback %s: %s", op.Status, op.Error)
	}
	cancel := c.do(call{method: "POST", path: api + "/operations/" + deploy.ID + "/cancel"})
	if cancel.status != http.StatusConflict || !strings.Contains(string(cancel.body), `"code":"CONFLICT"`) {
		t.Errorf("cancel of a finished operation: %d %s, want 409 CONFLICT", cancel.status, cancel.body)
	}
	c.problem(call{method: "POST", path: api + "/operations/op-000000000000-000000/cancel"}, http.StatusNotFound, "NOT_FOUND")

	// 409: deleting a deployment with deployed stacks.
	c.problem(call{method: "DELETE", path: d1}, http.StatusConflict, "CONFLICT")

	// Disable with destroy (nothing deployed in DREST02: quick) answers 202.
	d2dev := api + "/deployments/DREST02/environments/dev"
	c.json("GET", d2dev+"/stacks/quick", nil, http.StatusOK, nil)
	var envChange struct {
		Operation *operation
		Revision  int
	}
	r = c.json("POST", d2dev+"/disable", map[string]any{"destroy": true}, http.StatusAccepted, &envChange)
	if envChange.Operation == nil || r.header.Get("Location") != api+"/operations/"+envChange.Operation.ID {
		t.Fatalf("disable with destroy: %s (Location %q)", r.body, r.header.Get("Location"))
	}
	if op := c.wait(envChange.Operation.ID); op.Status != "succeeded" {
		t.Fatalf("destroy before disable %s: %s", op.Status, op.Error)
	}
	// The environment is disabled after the destroy is recorded finished
	// (app.SetEnvironment edits the manifest once Run returns): wait for it.
	for i := 0; ; i++ {
		var e struct{ Enabled bool }
		c.json("GET", d2dev, nil, http.StatusOK, &e)
		if !e.Enabled {
			break
		}
		if i == 100 {
			t.Fatalf("dev of DREST02 still enabled 10s after its destroy ended")
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.problem(call{method: "POST", path: d2dev + "/deploy"}, http.StatusConflict, "ENVIRONMENT_DISABLED")
	// A disabled environment refuses deploys and previews before anything
	// runs (destroy and refresh are allowed there).
	c.problem(call{method: "POST", path: d2dev + "/preview"}, http.StatusConflict, "ENVIRONMENT_DISABLED")
	for _, kind := range []string{"deploy", "preview"} {
		c.problem(call{method: "POST", path: d2dev + "/stacks/quick/" + kind, body: []byte(`{"withDependencies":true}`), ctype: "application/json"},
			http.StatusConflict, "ENVIRONMENT_DISABLED")
	}

	// 422: an invalid manifest names the field and the line.
	cycle := strings.Replace(probeManifest, "quick: {program: probe,", "quick: {program: probe, dependencies: [second],", 1)
	p := c.problem(call{method: "PUT", path: api + "/deployments/DREST02/manifest", body: []byte(cycle), ctype: "application/yaml"},
		http.StatusUnprocessableEntity, "VALIDATION_FAILED")
	if !strings.Contains(p.Detail, "quick") || !strings.Contains(p.Detail, "second") {
		t.Errorf("cycle problem does not name the path: %q", p.Detail)
	}
	unknown := strings.Replace(probeManifest, "project: probe\n", "project: probe\ncolour: blue\n", 1)
	p = c.problem(call{method: "PUT", path: api + "/deployments/DREST02/manifest", body: []byte(`{"yaml":` + quote(unknown) + `}`), ctype: "application/json"},
		http.StatusUnprocessableEntity, "VALIDATION_FAILED")
	t.Logf("unknown field: %+v", p)
	if len(p.Errors) == 0 || p.Errors[0].Field != "colour" || p.Errors[0].Line != 5 || !strings.Contains(p.Detail, ":5") {
		t.Errorf("unknown field problem %+v, want field colour at line 5", p)
	}
	c.json("DELETE", api+"/deployments/DREST02?force=false", nil, http.StatusOK, nil)
	c.problem(call{method: "GET", path: api + "/deployments/DREST02"}, http.StatusNotFound, "NOT_FOUND")

	// The stack registry.
	var stack struct {
		Name     string
		Priority int
	}
	r = c.json("POST", api+"/stacks", map[string]any{"nameOrPath": "demo-network"}, http.StatusOK, &stack)
	if stack.Name != "demo-network" || r.header.Get("Content-Location") != api+"/stacks/demo-network" {
		t.Fatalf("register: %+v %q", stack, r.header.Get("Content-Location"))
	}
	c.json("POST", api+"/stacks", map[string]any{"nameOrPath": "probe", "dependencies": []string{}}, http.StatusOK, nil)
	// A Pulumi project directory is a stack too (registering reads it,
	// and writes nothing into it).
	siteDir, _ := filepath.Abs(filepath.Join("..", "..", "stacks", "projects", "site"))
	var project struct {
		Name, Kind string
		Project    struct{ Name, Runtime, Dir string }
	}
	c.json("POST", api+"/stacks", map[string]any{"nameOrPath": siteDir, "name": "web-site"}, http.StatusOK, &project)
	if project.Name != "web-site" || project.Kind != "project" || project.Project.Runtime != "yaml" || project.Project.Name != "site" || project.Project.Dir != siteDir {
		t.Errorf("register a project directory: %+v", project)
	}
	c.json("DELETE", api+"/stacks/web-site", nil, http.StatusNoContent, nil)
	var stacks page
	c.json("GET", api+"/stacks?first=1", nil, http.StatusOK, &stacks)
	if stacks.TotalCount < 2 || stacks.NextCursor == nil {
		t.Fatalf("stacks %+v", stacks)
	}
	c.json("GET", api+"/stacks/demo-network", nil, http.StatusOK, nil)
	c.json("PATCH", api+"/stacks/demo-network", map[string]any{"priority": 5, "description": "the VPC"}, http.StatusOK, &stack)
	if stack.Priority != 5 {
		t.Errorf("priority after PATCH: %d", stack.Priority)
	}
	c.problem(call{method: "PATCH", path: api + "/stacks/demo-network", body: []byte(`{}`), ctype: "application/json", invalid: true},
		http.StatusBadRequest, "BAD_USER_INPUT")
	var sv struct{ Stack string }
	c.json("POST", api+"/stacks/demo-network/validate?strict=true", nil, http.StatusOK, &sv)
	c.problem(call{method: "DELETE", path: api + "/stacks/demo-network"}, http.StatusBadRequest, "BAD_USER_INPUT") // used by DREST01
	c.json("DELETE", api+"/stacks/probe?force=true", nil, http.StatusNoContent, nil)
	c.problem(call{method: "GET", path: api + "/stacks/probe"}, http.StatusNotFound, "NOT_FOUND")

	// Templates.
	var tpls page
	c.json("GET", api+"/templates?first=50", nil, http.StatusOK, &tpls)
	c.json("GET", api+"/templates/demo", nil, http.StatusOK, nil)
	r = c.json("POST", api+"/templates", map[string]any{"name": "shop", "description": "the shop", "fromDeployment": "DREST01"}, http.StatusCreated, nil)
	if r.header.Get("Location") != api+"/templates/shop" {
		t.Errorf("template Location %q", r.header.Get("Location"))
	}
	r = c.do(call{method: "PATCH", path: api + "/templates/shop", body: []byte("description: the shop, edited\n"), ctype: "application/yaml"})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "the shop, edited") {
		t.Fatalf("PATCH template: %d %s", r.status, r.body)
	}
	c.json("POST", api+"/templates/shop/validate", nil, http.StatusOK, nil)
	c.json("DELETE", api+"/templates/shop", nil, http.StatusNoContent, nil)
	c.problem(call{method: "DELETE", path: api + "/templates/demo"}, http.StatusConflict, "CONFLICT")
	c.problem(call{method: "GET", path: api + "/templates/shop"}, http.StatusNotFound, "NOT_FOUND")

	// Team sync, not configured on this home: the status says so, the
	// team lock does not apply, and what needs the table is CONFLICT.
	// (TestSyncAPI in server/ runs them against a table.)
	var ss struct{ Configured bool }
	c.json("GET", api+"/sync", nil, http.StatusOK, &ss)
	if ss.Configured {
		t.Errorf("GET /sync on a home without sync: %+v", ss)
	}
	c.problem(call{method: "POST", path: api + "/sync/run", body: []byte(`{"mode":"push"}`), ctype: "application/json"}, http.StatusConflict, "CONFLICT")
	c.problem(call{method: "GET", path: api + "/sync/conflicts?all=true"}, http.StatusConflict, "CONFLICT")
	c.problem(call{method: "GET", path: api + "/sync/conflicts/3f2a9c1b"}, http.StatusConflict, "CONFLICT")
	c.problem(call{method: "POST", path: api + "/sync/conflicts/3f2a9c1b/resolve", body: []byte(`{"keep":"winner"}`), ctype: "application/json"},
		http.StatusConflict, "CONFLICT")
	c.problem(call{method: "POST", path: api + "/sync/conflicts/3f2a9c1b/resolve", body: []byte(`{"keep":"both"}`), ctype: "application/json", invalid: true},
		http.StatusBadRequest, "BAD_USER_INPUT")
	var tl struct{ Configured, Free bool }
	c.json("GET", dev+"/team-lock", nil, http.StatusOK, &tl)
	if tl.Configured || !tl.Free {
		t.Errorf("team lock without sync: %+v", tl)
	}
	var broken struct{ Broken bool }
	c.json("DELETE", dev+"/team-lock", nil, http.StatusOK, &broken)
	if broken.Broken {
		t.Errorf("breaking the team lock without sync: %+v", broken)
	}
	c.problem(call{method: "GET", path: d1 + "/environments/nope/team-lock"}, http.StatusNotFound, "NOT_FOUND")

	// The checks and the version REST shares with GraphQL and the CLI.
	var deps page
	c.json("GET", d1+"/dependencies", nil, http.StatusOK, &deps)
	if deps.TotalCount != 3 {
		t.Errorf("dependencies of DREST01: %+v", deps)
	}
	var ver struct{ Version, Go, Platform string }
	c.json("GET", api+"/version", nil, http.StatusOK, &ver)
	if ver.Version == "" || ver.Go == "" || ver.Platform == "" {
		t.Errorf("version %+v", ver)
	}
	// Whether the server's machine has a Pulumi CLI and AWS credentials
	// is not this test's business: the answers only have to match the
	// document.
	c.do(call{method: "GET", path: api + "/access/pulumi"})
	c.do(call{method: "GET", path: api + "/access/aws?profile=cloud-rest-test-none"})

	// Every route of the document was called.
	doc, _ := rest.OpenAPI()
	var d struct {
		Paths map[string]map[string]json.RawMessage
	}
	json.Unmarshal(doc, &d)
	for path, item := range d.Paths {
		for m := range item {
			if m == "parameters" {
				continue
			}
			if key := strings.ToUpper(m) + " " + path; !c.checked[key] {
				t.Errorf("route %s was not exercised", key)
			}
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestProblems checks the errors found before any operation runs: each is
// a problem document with its status and stable code, naming the field.
func TestProblems(t *testing.T) {
	home := t.TempDir()
	srv := servertest.Start(t, home)
	c := newClient(t, srv.URL)
	api := "/api/v1"
	c.json("POST", api+"/deployments", map[string]any{"id": "DPROB01", "organization": "acme", "project": "shop"}, http.StatusCreated, nil)
	dev := api + "/deployments/DPROB01/environments/dev"
	jsonBody := func(method, path, body string) call {
		return call{method: method, path: path, body: []byte(body), ctype: "application/json", invalid: true}
	}

	tests := []struct {
		name   string
		req    call
		status int
		code   string
		field  string
		detail string
	}{
		{"bad cursor", call{method: "GET", path: api + "/deployments?after=garbage"}, 400, "BAD_USER_INPUT", "after", "not a cursor"},
		{"first not a number", call{method: "GET", path: api + "/deployments?first=abc", invalid: true}, 400, "BAD_USER_INPUT", "first", "must be an integer"},
		{"first too large", call{method: "GET", path: api + "/stacks?first=501", invalid: true}, 400, "BAD_USER_INPUT", "first", "between 1 and 500"},
		{"unknown query parameter", call{method: "GET", path: api + "/templates?frist=2"}, 400, "BAD_USER_INPUT", "frist", `did you mean "first"?`},
		{"bad boolean", call{method: "GET", path: dev + "/outputs?showSecrets=maybe", invalid: true}, 400, "BAD_USER_INPUT", "showSecrets", "true or false"},
		{"negative afterSeq", call{method: "GET", path: api + "/deployments/DPROB01/events?afterSeq=-1", invalid: true}, 400, "BAD_USER_INPUT", "afterSeq", "negative"},
		{"unknown body field", jsonBody("POST", dev+"/deploy", `{"foo": 1}`), 400, "BAD_USER_INPUT", "foo", `unknown field "foo"`},
		{"misspelt body field", jsonBody("POST", dev+"/deploy", `{"paralel": 2}`), 400, "BAD_USER_INPUT", "paralel", `did you mean "parallel"?`},
		{"wrong body type", jsonBody("POST", dev+"/deploy", `{"parallel": "two"}`), 400, "BAD_USER_INPUT", "parallel", "parallel: must be an integer"},
		{"out of range", jsonBody("POST", dev+"/preview", `{"parallel": 100}`), 400, "BAD_USER_INPUT", "parallel", "between 1 and 64"},
		{"missing field", jsonBody("POST", api+"/deployments", `{"project": "shop"}`), 400, "BAD_USER_INPUT", "organization", "organization: required"},
		{"missing body", call{method: "POST", path: dev + "/rollback", invalid: true}, 400, "BAD_USER_INPUT", "body", "JSON object is required"},
		{"not JSON", jsonBody("POST", dev+"/lock", `{"reason": `), 400, "BAD_USER_INPUT", "body", "ends too early"},
		{"rollback to nothing", jsonBody("POST", dev+"/rollback", `{"to": "op-000000000000-000000"}`), 404, "NOT_FOUND", "", "op-000000000000-000000"},
		{"rollback to a malformed operation", jsonBody("POST", dev+"/rollback", `{"to": "OPNOPE"}`), 400, "BAD_USER_INPUT", "", `malformed operation ID "OPNOPE": an operation ID is "op-"`},
		{"unknown deployment", call{method: "GET", path: api + "/deployments/DNOPE00"}, 404, "NOT_FOUND", "", "deployment DNOPE00: not found"},
		{"malformed deployment", call{method: "GET", path: api + "/deployments/dnope", invalid: true}, 400, "BAD_USER_INPUT", "", `malformed deployment ID "dnope": a deployment ID is "D" and 6 characters`},
		{"deployment ID with a NUL", call{method: "GET", path: api + "/deployments/D%00NOPE/environments/dev/outputs", invalid: true}, 400, "BAD_USER_INPUT", "", "malformed deployment ID: a deployment ID is"},
		{"malformed operation", call{method: "GET", path: api + "/operations/op%00x", invalid: true}, 400, "BAD_USER_INPUT", "", "malformed operation ID: an operation ID is"},
		{"malformed operation events", call{method: "GET", path: api + "/operations/OPNOPE/events", invalid: true}, 400, "BAD_USER_INPUT", "", "malformed operation ID"},
		{"unknown environment", call{method: "POST", path: api + "/deployments/DPROB01/environments/qa/deploy"}, 404, "NOT_FOUND", "", `no environment "qa"`},
		{"unknown operation", call{method: "GET", path: api + "/operations/op-000000000000-000000/events"}, 404, "NOT_FOUND", "", "op-000000000000-000000: not found"},
		{"unknown stack", call{method: "GET", path: api + "/stacks/nope"}, 404, "NOT_FOUND", "", "nope"},
		{"register a directory that is no project", jsonBody("POST", api+"/stacks", `{"nameOrPath": "`+home+`"}`), 400, "BAD_USER_INPUT", "", "no Pulumi.yaml or Pulumi.yml"},
		{"register an executable that is no stack program", jsonBody("POST", api+"/stacks", `{"nameOrPath": "/bin/sh"}`), 400, "BAD_USER_INPUT", "", "/bin/sh is not a stack program"},
		{"register an executable that answers nothing", jsonBody("POST", api+"/stacks", `{"nameOrPath": "/bin/true"}`), 400, "BAD_USER_INPUT", "", "/bin/true is not a stack program"},
		{"unknown route", call{method: "GET", path: api + "/nothing/here", undocumented: true}, 404, "NOT_FOUND", "", "no route GET /api/v1/nothing/here"},
		{"wrong method", call{method: "DELETE", path: api + "/openapi.json", undocumented: true}, 405, "METHOD_NOT_ALLOWED", "", "allowed: GET, HEAD"},
		{"unsupported media type", call{method: "POST", path: dev + "/lock", body: []byte("reason=x"), ctype: "application/x-www-form-urlencoded", invalid: true}, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type", "application/json"},
		{"too large", jsonBody("POST", dev+"/deploy", `{"stacks": ["`+strings.Repeat("x", rest.MaxBodyBytes)+`"]}`), 413, "PAYLOAD_TOO_LARGE", "body", "exceeds 1048576 bytes"},
		{"too large YAML", call{method: "PUT", path: api + "/deployments/DPROB01/manifest", body: bytes.Repeat([]byte("# padding\n"), rest.MaxBodyBytes/10+1), ctype: "application/yaml"}, 413, "PAYLOAD_TOO_LARGE", "body", "exceeds"},
		{"invalid manifest", call{method: "PUT", path: api + "/deployments/DPROB01/manifest", body: []byte("version: 1\ndeployment_id: DPROB01\norganization: acme\nproject: shop\nenvironments:\n  dev: {region: eu-west-1}\nstacks:\n  a: {program: probe, dependencies: [b]}\n  b: {program: probe, dependencies: [a]}\n"), ctype: "text/yaml"}, 422, "VALIDATION_FAILED", "stacks.a.dependencies", "->"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			p := c.problem(tt.req, tt.status, tt.code)
			if p.Field != tt.field {
				t.Errorf("field %q, want %q", p.Field, tt.field)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", p.Detail, tt.detail)
			}
			if strings.ContainsFunc(p.Detail+p.Instance, unicode.IsControl) {
				t.Errorf("problem echoes control characters: %q %q", p.Detail, p.Instance)
			}
			// What a program printed never reaches the caller.
			if strings.Contains(p.Detail, "cannot open") || strings.Contains(p.Detail, "stderr") {
				t.Errorf("detail %q echoes a program's output", p.Detail)
			}
		})
	}
	c.t = t
	r := c.do(call{method: "DELETE", path: api + "/openapi.json", undocumented: true})
	if r.header.Get("Allow") == "" {
		t.Errorf("405 without Allow")
	}
}
