package graph_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph"
)

// TestValidateDependencies asks for the dependency graph of the demo
// deployment's environments through GraphQL and gets its layers; an
// unknown deployment is a NOT_FOUND error.
func TestValidateDependencies(t *testing.T) {
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Init(ctx, app.InitRequest{ID: "DDEPS01", Organization: "acme", Project: "shop"}); err != nil {
		t.Fatal(err)
	}
	h := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{App: a}}))
	h.AddTransport(transport.POST{})
	h.SetErrorPresenter(graph.PresentError)
	query := func(q string) (data map[string][]struct {
		Environment string
		Layers      [][]string
		Error       string
	}, codes []string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(`{"query":`+jsonString(q)+`}`))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		var res struct {
			Data   json.RawMessage
			Errors []struct{ Extensions map[string]any }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("%v: %s", err, rec.Body)
		}
		json.Unmarshal(res.Data, &data)
		for _, e := range res.Errors {
			code, _ := e.Extensions["code"].(string)
			codes = append(codes, code)
		}
		return data, codes
	}
	data, codes := query(`{ validateDependencies(deploymentId: "DDEPS01") { environment layers error } }`)
	if len(codes) > 0 {
		t.Fatalf("errors %v", codes)
	}
	checks := data["validateDependencies"]
	if len(checks) == 0 {
		t.Fatal("no environment checked")
	}
	for _, c := range checks {
		if c.Error != "" || len(c.Layers) < 4 || c.Layers[0][0] != "network" {
			t.Errorf("environment %s: layers %v, error %q", c.Environment, c.Layers, c.Error)
		}
	}
	if _, codes := query(`{ validateDependencies(deploymentId: "DNOPE01") { environment } }`); len(codes) != 1 || codes[0] != graph.CodeNotFound {
		t.Errorf("unknown deployment: codes %v, want NOT_FOUND", codes)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
