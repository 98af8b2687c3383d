package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph"
)

// FuzzQuery sends arbitrary GraphQL documents and variables, queries and
// mutations alike, to the real schema and resolvers over a throwaway store
// with one deployment: whatever comes in gets an answer (data, or errors
// each with a stable code in extensions.code and none INTERNAL), never a
// panic. The app finds no Pulumi CLI and no stack program, so a deploy,
// destroy or rollback starts its operation and fails in the background
// without running anything.
func FuzzQuery(f *testing.F) {
	for _, seed := range []struct{ q, v string }{
		{`{ deployments { nodes { id status environments { name stacks { name status } } } pageInfo { endCursor } } }`, `{}`},
		{`query($id: ID!) { deployment(id: $id) { manifest { yaml } revisions(first: 1) { totalCount } } }`, `{"id":"DFUZZ01"}`},
		{`{ deployments(first: 0, after: "!!") { totalCount } }`, `{}`},
		{`query($a: String) { deployments(after: $a) { totalCount } }`, `{"a":"djE6"}`},
		{`{ plan(deploymentId: "DFUZZ01", environment: "dev") { layers stacks { name config } } }`, `{}`},
		{`{ events(operationId: "nope", afterSeq: -1) { nodes { seq } } }`, `{}`},
		{`{ outputs(deploymentId: "DFUZZ01", environment: "prod", showSecrets: true) { name value } }`, `{}`},
		{`mutation { setConfig(deploymentId: "DFUZZ01", key: "stacks.app.config.replicas", value: "3") { revision } }`, `{}`},
		{`{ __schema { types { name } } }`, `{}`},
		{`mutation { deploy(input: {deploymentId: "DFUZZ01", environment: "dev"}) { id status } }`, `{}`},
		{`mutation($s: [String!]) { destroyStack(input: {deploymentId: "DFUZZ01", environment: "dev", stacks: $s}) { id } }`, `{"s":["app"]}`},
		{`mutation { rollback(input: {deploymentId: "DFUZZ01", environment: "dev", to: "op-000000000000-000000"}) { id } }`, `{}`},
		{`mutation { lockEnvironment(deploymentId: "DFUZZ01", environment: "prod", reason: "freeze") { id } }`, `{}`},
		{`mutation { deleteDeployment(id: "DFUZZ01", force: true) { id } }`, `{}`},
		{`query($id: ID!) { operation(id: $id) { id stacks { stack } } }`, `{"id":"op-\u0000"}`},
		{`{ validateDeployment(deploymentId: "DFUZZ01") { ok } }`, `{}`},
	} {
		f.Add(seed.q, seed.v)
	}
	ctx := context.Background()
	home := f.TempDir()
	a, err := app.Open(ctx, app.Config{Home: home, Pulumi: filepath.Join(home, "no-pulumi")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		_ = a.Shutdown(ctx)
		a.Close()
	})
	// A mutation may have deleted it: every input starts from it.
	ensure := func(t testing.TB) {
		if _, err := a.Deployment(ctx, "DFUZZ01"); err == nil {
			return
		}
		if _, err := a.Init(ctx, app.InitRequest{ID: "DFUZZ01", Organization: "acme", Project: "shop"}); err != nil {
			t.Fatal(err)
		}
	}
	ensure(f)
	h := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{App: a}}))
	h.AddTransport(transport.POST{})
	h.SetErrorPresenter(graph.PresentError)
	// As the server serves it (server/graphql.go).
	h.Use(extension.Introspection{})
	var panicked string
	h.SetRecoverFunc(func(ctx context.Context, p any) error {
		panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
		return graphql.DefaultRecover(ctx, p)
	})
	f.Fuzz(func(t *testing.T, query, vars string) {
		// registerStack runs the program at any path it is given, and
		// awsAccess asks AWS; subscriptions are not served over POST. A
		// field is named literally in a document, so leaving out those
		// containing the names leaves out nothing else.
		for _, m := range []string{"registerStack", "awsAccess", "subscription"} {
			if strings.Contains(query, m) {
				return
			}
		}
		ensure(t)
		var v map[string]any
		if json.Unmarshal([]byte(vars), &v) != nil {
			v = nil
		}
		body, _ := json.Marshal(map[string]any{"query": query, "variables": v})
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		panicked = ""
		h.ServeHTTP(rec, req)
		if panicked != "" {
			t.Fatalf("resolver panicked on %q %s: %s", query, vars, panicked)
		}
		if rec.Code != http.StatusOK && rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("status %d for %q: %s", rec.Code, query, rec.Body)
		}
		var res struct {
			Errors []struct {
				Message    string         `json:"message"`
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
		}
		for _, e := range res.Errors {
			code, _ := e.Extensions["code"].(string)
			if code == "" {
				t.Fatalf("error without extensions.code for %q %s: %s", query, vars, rec.Body)
			}
			// This app has no Pulumi CLI on purpose: a server without one
			// is misconfigured, an internal error.
			if code == graph.CodeInternal && !strings.Contains(e.Message, "pulumi CLI not found") {
				t.Fatalf("INTERNAL for %q %s: %s", query, vars, e.Message)
			}
		}
	})
}
