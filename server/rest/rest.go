// Package rest is the REST door of cloud under /api/v1: every handler
// calls the GraphQL resolvers (package graph), so REST, GraphQL and the
// CLI share one code path. This package only translates HTTP to resolver
// calls and back: paths and query parameters to arguments, JSON (or YAML)
// bodies to inputs, results to JSON, errors to RFC 9457 problem documents.
//
// The routes live in one table (routes.go); the OpenAPI document
// (openapi.yaml, served as JSON at /api/v1/openapi.json) describes the same
// routes, and a test holds the two together.
package rest

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/cloudplatform/cloud/document"
	"github.com/cloudplatform/cloud/graph"
)

// Prefix is the path the server mounts this handler under (with the prefix
// stripped). Locations, problem instances and route patterns carry it so
// that they are URLs a client can use as they are.
const Prefix = "/api/v1"

// RouteKey is the context key under which the server's instrumentation
// leaves a *string for the route pattern a request matched. The handler
// sets it to the pattern with the prefix, e.g. "GET /api/v1/deployments/{id}",
// so that metrics are labelled by route rather than by path (IDs in paths
// would explode the label set).
type RouteKey struct{}

// api holds what every handler needs: the resolvers, the complete
// documents read through them, and a logger.
type api struct {
	res  *graph.Resolver
	docs *document.Reader
	log  *slog.Logger
}

// New returns the REST handler, to be mounted with the /api/v1 prefix
// stripped.
func New(res *graph.Resolver, log *slog.Logger) http.Handler {
	if log == nil {
		log = res.App.Logger()
	}
	a := &api{res: res, docs: document.New(res), log: log}
	mux := http.NewServeMux()
	for _, rt := range routeTable {
		mux.Handle(rt.Method+" "+rt.Path, a.handler(rt))
	}
	return &router{mux: mux, api: a}
}

// router answers what the mux does not match with problem documents: the
// mux's own 404 and 405 answers are plain text, which a client switching on
// the problem's code could not read.
type router struct {
	mux *http.ServeMux
	api *api
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := rt.mux.Handler(r); pattern != "" {
		rt.mux.ServeHTTP(w, r)
		return
	}
	// No route: let the mux say why (404, 405 with Allow, or a redirect
	// to a cleaned path) into a recorder, then answer in our format.
	rec := &recorder{header: http.Header{}}
	rt.mux.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		rt.api.problem(w, r, &problemError{status: http.StatusNotFound, code: graph.CodeNotFound,
			detail: fmt.Sprintf("no route %s %s%s (the routes are listed in %s/openapi.json)", r.Method, Prefix, r.URL.Path, Prefix)})
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		rt.api.problem(w, r, &problemError{status: http.StatusMethodNotAllowed, code: CodeMethodNotAllowed,
			detail: fmt.Sprintf("%s is not allowed on %s%s (allowed: %s)", r.Method, Prefix, r.URL.Path, rec.header.Get("Allow"))})
	default:
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		w.Write(rec.body)
	}
}

// handler adapts a route's function: it records the route for metrics,
// checks the query parameters against those the route declares, and turns
// a returned error (or a panic) into a problem document.
func (a *api) handler(rt route) http.Handler {
	pattern := rt.Method + " " + Prefix + rt.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(RouteKey{}).(*string); ok {
			*p = pattern
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("REST handler panicked", "route", pattern, "panic", v, "stack", string(debug.Stack()))
				a.problem(w, r, fmt.Errorf("internal error: %v", v))
			}
		}()
		if err := checkQuery(r, rt.Query); err != nil {
			a.problem(w, r, err)
			return
		}
		if err := rt.handle(a, w, r); err != nil {
			a.problem(w, r, err)
		}
	})
}

// recorder captures the mux's answer to a request it has no route for.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}
