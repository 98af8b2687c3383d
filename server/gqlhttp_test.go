package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/server"
	"github.com/cloudplatform/cloud/server/gqlws"
)

// gqlErrors decodes a GraphQL error response, failing unless it is one.
func gqlErrors(t *testing.T, a answer) []gqlws.GraphQLError {
	t.Helper()
	var res struct {
		Errors []gqlws.GraphQLError `json:"errors"`
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/graphql-response+json") {
		t.Fatalf("Content-Type %q: %s", ct, a.body)
	}
	if err := json.Unmarshal(a.body, &res); err != nil {
		t.Fatalf("answer %d is not JSON: %s", a.status, a.body)
	}
	return res.Errors
}

// TestGraphQLHTTP_Errors: every request GraphQL over HTTP cannot serve
// gets a GraphQL error with a stable code and a status saying why, at
// once: a subscription is refused, not left waiting for its first event.
func TestGraphQLHTTP_Errors(t *testing.T) {
	s := startLimited(t, server.Limits{})
	q := func(v string) string { return s.url + "/graphql?query=" + url.QueryEscape(v) }
	sub := `subscription { deploymentEvents(deploymentId: "DLIMIT1") { events { seq } } }`
	subBody, _ := json.Marshal(map[string]any{"query": sub})
	named, _ := json.Marshal(map[string]any{"operationName": "S",
		"query": `query Q { deployments { nodes { id } } } subscription S { events { events { seq } } }`})
	tests := []struct {
		name, method, url, contentType, body string
		status                               int
		code                                 string
		allow                                string
	}{
		{"body not JSON", "POST", s.url + "/graphql", "application/json", `{"query": "{ deployments { nodes { id } } }"`, 400, "BAD_USER_INPUT", ""},
		{"body not an object", "POST", s.url + "/graphql", "application/json", `"{ deployments { nodes { id } } }"`, 400, "BAD_USER_INPUT", ""},
		{"empty body", "POST", s.url + "/graphql", "application/json", ``, 400, "BAD_USER_INPUT", ""},
		{"query not a string", "POST", s.url + "/graphql", "application/json", `{"query": 42}`, 400, "BAD_USER_INPUT", ""},
		{"variables not an object", "POST", s.url + "/graphql", "application/json", `{"query": "{ deployments { nodes { id } } }", "variables": [1]}`, 400, "BAD_USER_INPUT", ""},
		{"batch", "POST", s.url + "/graphql", "application/json", `[{"query": "{ deployments { nodes { id } } }"}]`, 400, "BAD_USER_INPUT", ""},
		{"wrong content type", "POST", s.url + "/graphql", "text/plain", `{"query": "{ deployments { nodes { id } } }"}`, 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"no content type", "POST", s.url + "/graphql", "", `{"query": "{ deployments { nodes { id } } }"}`, 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"form", "POST", s.url + "/graphql", "application/x-www-form-urlencoded", `query=%7B%7D`, 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"PUT", "PUT", s.url + "/graphql", "application/json", `{"query": "{ deployments { nodes { id } } }"}`, 405, "METHOD_NOT_ALLOWED", "GET, POST, OPTIONS"},
		{"DELETE", "DELETE", s.url + "/graphql", "", ``, 405, "METHOD_NOT_ALLOWED", "GET, POST, OPTIONS"},
		{"subscription by POST", "POST", s.url + "/graphql", "application/json", string(subBody), 400, "BAD_USER_INPUT", ""},
		{"subscription by POST, named", "POST", s.url + "/graphql", "application/json", string(named), 400, "BAD_USER_INPUT", ""},
		{"subscription by GET", "GET", q(sub), "", ``, 400, "BAD_USER_INPUT", ""},
		{"mutation by GET", "GET", q(`mutation { setEnvironmentEnabled(deploymentId: "DLIMIT1", environment: "dev", enabled: false) { name } }`), "", ``, 405, "METHOD_NOT_ALLOWED", "POST"},
		{"syntax error", "POST", s.url + "/graphql", "application/json", `{"query": "{ deployments { "}`, 422, "GRAPHQL_PARSE_FAILED", ""},
		{"no query", "POST", s.url + "/graphql", "application/json", `{}`, 422, "GRAPHQL_VALIDATION_FAILED", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // only catches a hang
			defer cancel()
			req := request(t, tt.method, tt.url, strings.NewReader(tt.body))
			req = req.WithContext(ctx)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			a := do(t, nil, req)
			errs := gqlErrors(t, a)
			if a.status != tt.status || code(errs) != tt.code {
				t.Fatalf("status %d, code %q, want %d %q: %s", a.status, code(errs), tt.status, tt.code, a.body)
			}
			if errs[0].Message == "" {
				t.Errorf("an error without a message: %s", a.body)
			}
			if tt.allow != "" && a.header.Get("Allow") != tt.allow {
				t.Errorf("Allow %q, want %q", a.header.Get("Allow"), tt.allow)
			}
		})
	}

	// What is right still runs.
	for _, r := range []*http.Request{
		request(t, "GET", q(`{ deployment(id: "DLIMIT1") { id } }`), nil),
		request(t, "POST", s.url+"/graphql", strings.NewReader(`{"query": "{ deployment(id: \"DLIMIT1\") { id } }", "variables": null}`),
			"Content-Type", "application/json; charset=utf-8"),
		request(t, "POST", s.url+"/graphql", strings.NewReader(string(named[:len(named)-1])+`,"operationName":"Q"}`),
			"Content-Type", "application/json"),
	} {
		a := do(t, nil, r)
		if a.status != 200 || len(gqlErrors(t, a)) != 0 {
			t.Errorf("%s %s: %d %s", r.Method, r.URL, a.status, a.body)
		}
	}
}

// TestLimits_QuerySize: documents over the token, selection or alias
// bound are refused with QUERY_TOO_LARGE before gqlgen parses them, over
// HTTP and over WebSocket; fragments spread exponentially count as
// expanded. The introspection query and the dashboard's pages stay
// within the bounds (TestLimits_QueryDepthAndComplexity runs them).
func TestLimits_QuerySize(t *testing.T) {
	s := startLimited(t, server.Limits{})
	var chain strings.Builder // 30 fragments, each spreading the next twice
	chain.WriteString(`{ deployment(id: "DLIMIT1") { ...F0 } }`)
	for i := range 30 {
		fmt.Fprintf(&chain, " fragment F%d on Deployment { ...F%d ...F%d }", i, i+1, i+1)
	}
	chain.WriteString(" fragment F30 on Deployment { id }")
	var aliases strings.Builder
	for i := range server.DefaultMaxAliases + 1 {
		fmt.Fprintf(&aliases, " a%d: id", i)
	}
	tests := []struct {
		name, query, measure string
	}{
		{"20,000 fields", `{ deployment(id: "DLIMIT1") {` + strings.Repeat(" id", 20000) + ` } }`, "tokens"},
		{"a token over", `{ deployment(id: "DLIMIT1") {` + strings.Repeat(" id", server.DefaultMaxQueryTokens) + ` } }`, "tokens"},
		{"selections", `{ deployment(id: "DLIMIT1") {` + strings.Repeat(" id", server.DefaultMaxSelections) + ` } }`, "selections"},
		{"selections in an unused fragment", `{ deployment(id: "DLIMIT1") { id } } fragment U on Deployment {` +
			strings.Repeat(" id", server.DefaultMaxSelections) + ` }`, "selections"},
		{"fragments expanded", chain.String(), "selections"},
		{"aliases", `{ deployment(id: "DLIMIT1") {` + aliases.String() + ` } }`, "aliases"},
	}
	ws := dial(t, s.url)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, errs := gqlAnswer(t, nil, s.url, tt.query)
			if a.status != http.StatusUnprocessableEntity || code(errs) != "QUERY_TOO_LARGE" || errs[0].Extensions["measure"] != tt.measure {
				t.Fatalf("status %d, errors %v, want 422 QUERY_TOO_LARGE (%s): %.300s", a.status, errs, tt.measure, a.body)
			}
			if bytes.Contains(a.body, []byte(`"data":{`)) {
				t.Errorf("refused query ran: %.300s", a.body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sub, _, err := ws.Subscribe(ctx, tt.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-sub:
				if code(r.Errors) != "QUERY_TOO_LARGE" {
					t.Fatalf("over WebSocket: %+v, want QUERY_TOO_LARGE", r)
				}
			case <-ctx.Done():
				t.Fatal("over WebSocket: no answer")
			}
		})
	}

	// Just under every bound, and a bound turned off.
	ok := `{ deployment(id: "DLIMIT1") {` + strings.Repeat(" a: id", server.DefaultMaxAliases) + ` } }`
	if a, errs := gqlAnswer(t, nil, s.url, ok); code(errs) == "QUERY_TOO_LARGE" {
		t.Errorf("%d aliases refused: %d %s", server.DefaultMaxAliases, a.status, a.body)
	}
	off := startLimited(t, server.Limits{MaxSelections: -1, MaxComplexity: -1})
	big := `{ deployment(id: "DLIMIT1") {` + strings.Repeat(" id", server.DefaultMaxSelections+1) + ` } }`
	if a, errs := gqlAnswer(t, nil, off.url, big); len(errs) != 0 {
		t.Errorf("with the selection bound off: %d %.300s", a.status, a.body)
	}
}
