package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/server/rest"
	"github.com/vektah/gqlparser/v2/ast"
)

// graphqlRequests answers the GraphQL-over-HTTP requests gqlgen's
// transports would answer without a code (a method or content type no
// transport takes), with INTERNAL (a body that is not a JSON object, a
// batch), or never (a subscription, whose first event a POST would wait
// for). Each gets a GraphQL error response with a stable code and the
// HTTP status that says what was wrong. It measures the document too
// (queryBound), so an oversized one is refused here without gqlgen
// decoding the body again. WebSocket upgrades pass untouched: the
// protocol checks those (wsAcceptor).
func (s *Server) graphqlRequests(next http.Handler) http.Handler {
	bound := s.queryBound()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		var query, operation string
		switch r.Method {
		case http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		case http.MethodGet:
			query, operation = r.URL.Query().Get("query"), r.URL.Query().Get("operationName")
		case http.MethodPost:
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				refuse(w, r, http.StatusUnsupportedMediaType, rest.CodeUnsupportedMediaType, 0,
					"a GraphQL request is JSON: send it with Content-Type: application/json (got "+
						strings.TrimSpace(strings.Split(r.Header.Get("Content-Type")+" ", ";")[0])+")")
				return
			}
			var ok bool
			if query, operation, ok = readGraphQLBody(w, r); !ok {
				return
			}
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			refuse(w, r, http.StatusMethodNotAllowed, rest.CodeMethodNotAllowed, 0,
				r.Method+" is not a GraphQL request: use POST (or GET for queries), or a WebSocket for subscriptions")
			return
		}
		if query == "" {
			next.ServeHTTP(w, r) // gqlgen: "no operation provided", coded
			return
		}
		doc, gerr := bound.scan(query)
		if gerr != nil {
			writeGraphQLErrors(w, http.StatusUnprocessableEntity, gerr.Message, gerr.Extensions)
			return
		}
		switch operationKind(doc, operation) {
		case ast.Subscription:
			refuse(w, r, http.StatusBadRequest, graph.CodeBadInput, 0,
				"subscriptions are served over WebSocket only: connect to /graphql with the graphql-transport-ws subprotocol")
			return
		case ast.Mutation:
			if r.Method == http.MethodGet {
				w.Header().Set("Allow", "POST")
				refuse(w, r, http.StatusMethodNotAllowed, rest.CodeMethodNotAllowed, 0,
					"a mutation changes state: send it with POST, not GET")
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), checkedQueryKey{}, query)))
	})
}

// readGraphQLBody reads a POST body as one GraphQL request and puts it
// back for gqlgen; when it is none it answers 400 itself and returns
// false. limitBody has bounded its size already.
func readGraphQLBody(w http.ResponseWriter, r *http.Request) (query, operation string, ok bool) {
	var b []byte
	if r.Body != nil {
		var err error
		if b, err = io.ReadAll(r.Body); err != nil {
			refuse(w, r, http.StatusBadRequest, graph.CodeBadInput, 0, "the request body could not be read: "+err.Error())
			return "", "", false
		}
		r.Body.Close()
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	trimmed := bytes.TrimSpace(b)
	var req struct {
		Query         string          `json:"query"`
		OperationName string          `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	bad := ""
	switch {
	case len(trimmed) == 0:
		bad = `the request body is empty: send {"query": "…"}`
	case trimmed[0] == '[':
		bad = "batched operations (a JSON array) are not supported: send one operation per request"
	case trimmed[0] != '{':
		bad = `the request body is not a JSON object: send {"query": "…", "variables": {…}}`
	default:
		if err := json.Unmarshal(trimmed, &req); err != nil {
			bad = "the request body is not a GraphQL request: " + err.Error()
		} else if !isObjectOrNull(req.Variables) || !isObjectOrNull(req.Extensions) {
			bad = "the request's variables and extensions must be JSON objects"
		}
	}
	if bad != "" {
		refuse(w, r, http.StatusBadRequest, graph.CodeBadInput, 0, bad)
		return "", "", false
	}
	return req.Query, req.OperationName, true
}

// operationKind is the kind of the operation a request selects: the one
// named, or the only one. "" when the document does not say (gqlgen then
// reports why).
func operationKind(doc *ast.QueryDocument, name string) ast.Operation {
	if doc == nil {
		return ""
	}
	if name == "" && len(doc.Operations) != 1 {
		return ""
	}
	var op *ast.OperationDefinition
	if name == "" {
		op = doc.Operations[0]
	} else if op = doc.Operations.ForName(name); op == nil {
		return ""
	}
	if op.Operation == "" {
		return ast.Query
	}
	return op.Operation
}

// writeGraphQLErrors answers with one GraphQL error.
func writeGraphQLErrors(w http.ResponseWriter, status int, msg string, ext map[string]any) {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"message": msg, "extensions": ext}}, "data": nil})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
