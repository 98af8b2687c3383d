package graph_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph"
)

// TestMalformedIDs: an ID not of its form is BAD_USER_INPUT stating the
// format, never NOT_FOUND, and never echoes control characters; a
// well-formed ID of nothing is null (a single object) or NOT_FOUND, said
// as "not found".
func TestMalformedIDs(t *testing.T) {
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{App: a}}))
	h.AddTransport(transport.POST{})
	h.SetErrorPresenter(graph.PresentError)
	type gqlError struct {
		Message    string
		Extensions map[string]any
	}
	query := func(q string, vars map[string]any) (json.RawMessage, []gqlError) {
		body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		var res struct {
			Data   json.RawMessage
			Errors []gqlError
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("%v: %s", err, rec.Body)
		}
		return res.Data, res.Errors
	}
	tests := []struct {
		name, query, id, code, message string
	}{
		{"deployment", `query($id: ID!) { deployment(id: $id) { id } }`, "d1\x00x", graph.CodeBadInput, "malformed deployment ID: a deployment ID is"},
		{"lower-case deployment", `query($id: ID!) { deployment(id: $id) { id } }`, "d1brv40", graph.CodeBadInput, `malformed deployment ID "d1brv40"`},
		{"operations", `query($id: ID!) { operations(deploymentId: $id) { totalCount } }`, "DTOOLONG1", graph.CodeBadInput, "a deployment ID is"},
		{"deployment events", `query($id: ID!) { deploymentEvents(deploymentId: $id) { nodes { seq } } }`, "nope", graph.CodeBadInput, "a deployment ID is"},
		{"operation", `query($id: ID!) { operation(id: $id) { id } }`, "op-\x00", graph.CodeBadInput, "malformed operation ID: an operation ID is"},
		{"events", `query($id: ID!) { events(operationId: $id) { nodes { seq } } }`, "OPNOPE", graph.CodeBadInput, `malformed operation ID "OPNOPE"`},
		{"cancel", `mutation($id: ID!) { cancelOperation(id: $id) { id } }`, "op-1", graph.CodeBadInput, "an operation ID is"},
		{"unknown operation's events", `query($id: ID!) { events(operationId: $id) { nodes { seq } } }`, "op-000000000000-000000", graph.CodeNotFound, "operation op-000000000000-000000: not found"},
		{"unknown deployment's plan", `query($id: ID!) { plan(deploymentId: $id, environment: "dev") { deploymentId } }`, "DNOPE01", graph.CodeNotFound, "deployment DNOPE01: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := query(tt.query, map[string]any{"id": tt.id})
			if len(errs) != 1 {
				t.Fatalf("errors %+v, want one", errs)
			}
			e := errs[0]
			if code, _ := e.Extensions["code"].(string); code != tt.code || !strings.Contains(e.Message, tt.message) {
				t.Errorf("error %q (%v), want %s containing %q", e.Message, e.Extensions["code"], tt.code, tt.message)
			}
			if strings.ContainsFunc(e.Message, unicode.IsControl) {
				t.Errorf("error echoes control characters: %q", e.Message)
			}
		})
	}
	for _, q := range []string{`query($id: ID!) { deployment(id: $id) { id } }`, `query($id: ID!) { operation(id: $id) { id } }`} {
		id := "DNOPE01"
		if strings.Contains(q, "operation") {
			id = "op-000000000000-000000"
		}
		if data, errs := query(q, map[string]any{"id": id}); len(errs) != 0 || !strings.Contains(string(data), "null") {
			t.Errorf("%s of unknown %s: data %s, errors %+v; want null", q, id, data, errs)
		}
	}
}
