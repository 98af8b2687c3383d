package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph"
)

// FuzzQuery sends arbitrary GraphQL documents and variables to the real
// schema and resolvers over a store with one deployment: whatever comes in
// gets an answer (data or errors with a code), never a panic.
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
	} {
		f.Add(seed.q, seed.v)
	}
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{Home: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.Close() })
	if _, err := a.Init(ctx, app.InitRequest{ID: "DFUZZ01", Organization: "acme", Project: "shop"}); err != nil {
		f.Fatal(err)
	}
	h := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{App: a}}))
	h.AddTransport(transport.POST{})
	h.SetErrorPresenter(graph.PresentError)
	var panicked string
	h.SetRecoverFunc(func(ctx context.Context, p any) error {
		panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
		return graphql.DefaultRecover(ctx, p)
	})
	f.Fuzz(func(t *testing.T, query, vars string) {
		// Operations that start Pulumi runs are not what this fuzzes.
		for _, m := range []string{"deploy", "destroy", "preview", "refresh", "rollback", "subscription", "registerStack", "validateStack", "validateDeployment"} {
			if strings.Contains(query, m) {
				return
			}
		}
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
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
		}
	})
}
