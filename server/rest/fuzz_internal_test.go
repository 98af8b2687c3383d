package rest

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// bodyTypes are fresh values of every JSON body a route decodes.
var bodyTypes = []func() any{
	func() any { return &createDeploymentBody{} },
	func() any { return &yamlBody{} },
	func() any { return &configBody{} },
	func() any { return &enableBody{} },
	func() any { return &disableBody{} },
	func() any { return &lockBody{} },
	func() any { return &stackOptions{} },
	func() any { return &operationOptions{} },
	func() any { return &rollbackBody{} },
	func() any { return &registerBody{} },
	func() any { return &updateStackBody{} },
	func() any { return &createTemplateBody{} },
}

// clientError fails unless err is nil or a 4xx problem.
func clientError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	p := problemOf(err)
	if p.Status < 400 || p.Status > 499 {
		t.Fatalf("%s: status %d (%s), want 4xx: %v", what, p.Status, p.Code, err)
	}
	if p.Code == "" || p.Detail == "" {
		t.Fatalf("%s: problem without code or detail: %+v", what, p)
	}
}

// FuzzRequestParsing feeds arbitrary bodies, content types and query
// strings to the parsing helpers every handler goes through: bad input
// gives a 4xx problem naming what was wrong, never a panic or a 500.
func FuzzRequestParsing(f *testing.F) {
	seeds := []struct{ body, ctype, query string }{
		{`{}`, "application/json", "first=10&after=djE6eA"},
		{`{"stacks":["a"],"parallel":2,"force":true}`, "application/json", "afterSeq=3&stack=a&kind=log"},
		{`{"organization":"acme","project":"shop","accounts":[{"environment":"dev","accountId":"123456789012"}]}`, "", "includeDestroyed=true"},
		{`{"parallel":"x"}`, "application/json", "first=abc"},
		{`{"foo":1}`, "application/json; charset=utf-8", "frist=1"},
		{`{"stacks":[1]}`, "text/plain", "after=%zz"},
		{`[1,2]`, "application/json", "afterSeq=-1&after=x"},
		{`{"yaml":"a: b"}`, "application/json", "revision=0&showSecrets=maybe"},
		{"version: 1\nstacks: {}\n", "application/yaml", "stack=&stack=b"},
		{`{"to":"op","parallel":1e400}`, "application/problem+json", "first=99999999999999999999"},
		{`{"dependencies":null,"priority":1.5}`, "application/json;;", "force=1&force=0"},
		{"", "", ""},
		{`{"a":1} trailing`, "application/json", "after=" + strings.Repeat("A", 200)},
	}
	for _, s := range seeds {
		f.Add([]byte(s.body), s.ctype, s.query)
	}
	f.Fuzz(func(t *testing.T, body []byte, ctype, rawQuery string) {
		for _, newBody := range bodyTypes {
			clientError(t, "decodeJSONBytes", decodeJSONBytes(body, newBody(), true))
			clientError(t, "decodeJSONBytes optional", decodeJSONBytes(body, newBody(), false))
		}
		r := httptest.NewRequest("POST", "/deployments", bytes.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		r.URL.RawQuery = rawQuery
		w := httptest.NewRecorder()
		clientError(t, "decodeJSON", decodeJSON(w, r, &operationOptions{}, false))

		r = httptest.NewRequest("PUT", "/deployments/D/manifest", bytes.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		_, err := readYAML(httptest.NewRecorder(), r)
		clientError(t, "readYAML", err)

		r.URL.RawQuery = rawQuery
		for _, rt := range routeTable {
			clientError(t, "checkQuery "+rt.Path, checkQuery(r, rt.Query))
		}
		if checkQuery(r, eventParams) == nil {
			_, err := eventArgsOf(queryOf(r))
			clientError(t, "eventArgsOf", err)
		}
		q := queryOf(r)
		_, _, err = q.pageArgs()
		clientError(t, "pageArgs", err)
		_, err = q.boolean("force")
		clientError(t, "boolean", err)
		_, err = q.integer("revision")
		clientError(t, "integer", err)
		_, err = q.str("environment")
		clientError(t, "str", err)
	})
}

func TestDecodeJSONNamesTheField(t *testing.T) {
	tests := []struct {
		body  string
		dst   any
		field string
		in    string // in the detail
	}{
		{`{"foo": 1}`, &operationOptions{}, "foo", `unknown field "foo"`},
		{`{"paralel": 1}`, &operationOptions{}, "paralel", `did you mean "parallel"?`},
		{`{"parallel": "x"}`, &operationOptions{}, "parallel", "parallel: must be an integer, not string"},
		{`{"stacks": [1]}`, &operationOptions{}, "stacks", "stacks: must be a list of strings, not number"},
		{`{"force": "yes"}`, &stackOptions{}, "force", "force: must be true or false"},
		{`{"project": "p"}`, &createDeploymentBody{}, "organization", "organization: required"},
		{`{"organization": "o", "project": "p", "accounts": [{"environment": "dev", "accountId": 12}]}`, &createDeploymentBody{}, "accounts.accountId", "must be a string"},
		{`{"organization": "o", "project": "p", "accounts": [{"environment": "dev"}]}`, &createDeploymentBody{}, "accounts.accountId", "required"},
		{`{"to": ""}`, &rollbackBody{}, "to", "to: required"},
		{`{}`, &updateStackBody{}, "body", "nothing to change"},
		{`{"reason": "x"} {}`, &lockBody{}, "body", "unexpected data after the JSON object"},
		{`{"reason": `, &lockBody{}, "body", "ends too early"},
		{`{"reason" 1}`, &lockBody{}, "body", "invalid JSON at byte"},
		{`[]`, &lockBody{}, "body", "must be a JSON object"},
		{``, &lockBody{}, "body", "a JSON object is required"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			err := decodeJSONBytes([]byte(tt.body), tt.dst, true)
			if err == nil {
				t.Fatal("no error")
			}
			p := problemOf(err)
			if p.Status != http.StatusBadRequest || p.Code != "BAD_USER_INPUT" {
				t.Errorf("status %d code %s, want 400 BAD_USER_INPUT", p.Status, p.Code)
			}
			if p.Field != tt.field {
				t.Errorf("field %q, want %q", p.Field, tt.field)
			}
			if !strings.Contains(p.Detail, tt.in) {
				t.Errorf("detail %q does not contain %q", p.Detail, tt.in)
			}
		})
	}
}

func TestQueryNamesTheParameter(t *testing.T) {
	tests := []struct {
		query, field, in string
	}{
		{"first=abc", "first", `first: must be an integer, not "abc"`},
		{"first=0", "first", "between 1 and 500"},
		{"frist=1", "frist", `did you mean "first"?`},
		{"afterSeq=-2", "afterSeq", "must not be negative"},
		{"afterSeq=1&after=djE6Mg", "after", "not both"},
		{"after=nope", "after", "not a cursor"},
		{"stack=", "stack", "must not be empty"},
		{"first=1&first=2", "first", "given 2 times"},
		{"a=%zz", "query", "malformed query string"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/operations/x/events?"+tt.query, nil)
			err := checkQuery(r, eventParams)
			if err == nil {
				_, err = eventArgsOf(queryOf(r))
			}
			if err == nil {
				t.Fatal("no error")
			}
			p := problemOf(err)
			if p.Status != http.StatusBadRequest || p.Field != tt.field || !strings.Contains(p.Detail, tt.in) {
				t.Errorf("got %d %q %q, want 400, field %q, detail with %q", p.Status, p.Field, p.Detail, tt.field, tt.in)
			}
		})
	}
}

func TestBodyLimits(t *testing.T) {
	big := bytes.Repeat([]byte(" "), MaxBodyBytes+1)
	r := httptest.NewRequest("PUT", "/deployments/D/manifest", bytes.NewReader(big))
	r.Header.Set("Content-Type", "application/yaml")
	_, err := readYAML(httptest.NewRecorder(), r)
	var pe *problemError
	if !errors.As(err, &pe) || pe.status != http.StatusRequestEntityTooLarge || pe.code != CodePayloadTooLarge {
		t.Fatalf("body over the limit: %v, want a 413 PAYLOAD_TOO_LARGE", err)
	}
	r = httptest.NewRequest("POST", "/x", strings.NewReader("a=b"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	err = decodeJSON(httptest.NewRecorder(), r, &lockBody{}, true)
	if !errors.As(err, &pe) || pe.status != http.StatusUnsupportedMediaType {
		t.Fatalf("form body: %v, want a 415", err)
	}
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		accept string
		yaml   bool
	}{
		{"", false},
		{"*/*", false},
		{"application/json", false},
		{"application/yaml", true},
		{"application/json, application/yaml", false},
		{"application/yaml, application/json", true},
		{"application/json;q=0.5, application/yaml", true},
		{"application/yaml;q=0, */*", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.accept != "" {
			r.Header.Set("Accept", tt.accept)
		}
		if got := accepts(r, "application/yaml"); got != tt.yaml {
			t.Errorf("Accept %q: yaml %v, want %v", tt.accept, got, tt.yaml)
		}
	}
}

func TestYAMLToJSONKeepsOrderAndMerges(t *testing.T) {
	got, err := yamlToJSON([]byte("b: 1\na: &x {c: true, d: null}\ne:\n  <<: *x\n  d: 2.5\n  f: [\"s\", 3]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"b":1,"a":{"c":true,"d":null},"e":{"c":true,"d":2.5,"f":["s",3]}}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
