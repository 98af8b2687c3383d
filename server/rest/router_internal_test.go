package rest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRouterAnswersProblems: what matches no route is a problem document
// (404, or 405 with Allow), and a matched route leaves its pattern for
// the metrics. These requests never reach a resolver.
func TestRouterAnswersProblems(t *testing.T) {
	h := New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	tests := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/", 404, "NOT_FOUND", ""},
		{"GET", "/deployments/", 404, "NOT_FOUND", ""},
		{"GET", "/deployments/D1/nothing", 404, "NOT_FOUND", ""},
		{"PATCH", "/deployments/D1", 405, "METHOD_NOT_ALLOWED", "DELETE, GET, HEAD"},
		{"DELETE", "/operations/op1/cancel", 405, "METHOD_NOT_ALLOWED", "POST"},
		{"PUT", "/stacks", 405, "METHOD_NOT_ALLOWED", "GET, HEAD, POST"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		var p Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s %s: %v: %s", tt.method, tt.path, err, w.Body)
		}
		if w.Code != tt.status || p.Code != tt.code || w.Header().Get("Content-Type") != ProblemContentType ||
			p.Instance != Prefix+tt.path || w.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d %q %+v Allow %q; want %d %s Allow %q", tt.method, tt.path, w.Code,
				w.Header().Get("Content-Type"), p, w.Header().Get("Allow"), tt.status, tt.code, tt.allow)
		}
	}

	pattern := new(string)
	r := httptest.NewRequest("GET", "/openapi.json", nil)
	r = r.WithContext(context.WithValue(r.Context(), RouteKey{}, pattern))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || *pattern != "GET /api/v1/openapi.json" {
		t.Errorf("GET /openapi.json: %d, route %q", w.Code, *pattern)
	}
}

// TestPanicIsAProblem: a handler that panics answers a 500 problem, and
// the server goes on.
func TestPanicIsAProblem(t *testing.T) {
	a := &api{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := a.handler(route{Method: "GET", Path: "/boom", handle: func(*api, http.ResponseWriter, *http.Request) error { panic("boom") }})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/boom", nil))
	if w.Code != http.StatusInternalServerError || w.Header().Get("Content-Type") != ProblemContentType {
		t.Errorf("panic: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}
