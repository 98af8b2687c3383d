// Package server is cloud's HTTP server (`cloud serve`): GraphQL with
// subscriptions at /graphql, REST at /api/v1, health at /healthz and
// /readyz, Prometheus metrics at /metrics. Every door calls the same
// resolvers (package graph), which call the application core.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/server/rest"
	"github.com/cloudplatform/cloud/server/web"
	"github.com/cloudplatform/cloud/store/feed"
)

// Config configures a Server.
type Config struct {
	// Listen is the TCP address (default 127.0.0.1:8080).
	Listen string
	App    *app.App
	Logger *slog.Logger
	// ShutdownGrace is how long running operations may go on after a
	// shutdown signal before they are cancelled (default 30s).
	ShutdownGrace time.Duration
	// Feed tunes event subscriptions (zero values take the defaults).
	Feed feed.Options
	// KeepAlive is the interval of graphql-transport-ws pings; a client
	// that answers none for two intervals is disconnected (default 15s).
	KeepAlive time.Duration
	// InitTimeout is how long a WebSocket client has after the upgrade to
	// send its connection_init; graphql-transport-ws closes a client that
	// has not with 4408 (default DefaultInitTimeout, 10s).
	InitTimeout time.Duration
	// Sync is the team sync loop running beside the server, reported by
	// /readyz and /metrics; nil when sync is not configured.
	Sync SyncState
	// Limits bound what one client can make the server do (zero values
	// take the defaults).
	Limits Limits
	// Auth is who may call (zero: no authentication, the local user).
	Auth Auth
}

// SyncState is what the server reports of team sync (the sync engine's
// background loop implements it).
type SyncState interface {
	Running() bool
	Ready() bool
	LastPush() time.Time
	LastPull() time.Time
	PendingOutbox() int
	OpenConflicts() int
	LastError() (time.Time, error)
}

// Server serves the APIs of one application core.
type Server struct {
	cfg      Config
	log      *slog.Logger
	hub      *feed.Hub
	resolver *graph.Resolver
	metrics  *metrics
	limits   *clientLimits
	handler  http.Handler
	started  time.Time
}

// New builds a Server; Serve runs it.
func New(cfg Config) *Server {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = cfg.App.Logger()
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	cfg.Limits = cfg.Limits.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, started: time.Now()}
	s.hub = cfg.App.Feed(cfg.Feed)
	s.resolver = &graph.Resolver{App: cfg.App, Feed: s.hub}
	s.metrics = newMetrics(s)
	s.limits = newClientLimits(cfg.Limits, s.metrics.reg)
	s.handler = s.routes()
	return s
}

// Handler is the server's root handler (tests serve it themselves).
func (s *Server) Handler() http.Handler { return s.handler }

// Resolver is the resolver root every door calls.
func (s *Server) Resolver() *graph.Resolver { return s.resolver }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	gql := s.graphqlHandler()
	mux.Handle("/graphql", gql)
	mux.Handle("/graphql/playground", playgroundHandler())
	mux.Handle("/api/v1/", http.StripPrefix("/api/v1", rest.New(s.resolver, s.log)))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("/", web.Handler()) // the dashboard: "/" and "/assets/", 404 for anything else
	// Limits key on the client, so authentication (which names it) goes
	// outside them; headers go outside both, so refusals carry them.
	s.authRoutes(mux)
	h := s.limitRequests(mux)
	h = s.authenticate(h)
	h = s.secureHeaders(h)
	return s.metrics.instrument(s.logRequests(h))
}

// Serve listens on cfg.Listen and serves until ctx ends, then shuts down
// gracefully: no new requests, running operations get ShutdownGrace to
// finish and are cancelled after it (recorded cancelled, never left
// running), subscriptions end. ready, if not nil, receives the address
// once the server listens.
func (s *Server) Serve(ctx context.Context, ready func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	// No ReadTimeout or WriteTimeout: they would cut WebSockets, whose
	// subscriptions live for hours. limitRequests bounds reading a body
	// instead (30s).
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Info("cloud serve listening", "address", ln.Addr().String(), "graphql", "http://"+ln.Addr().String()+"/graphql",
		"rest", "http://"+ln.Addr().String()+"/api/v1")
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.hub.Close()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "running_operations", len(s.cfg.App.Running()), "grace", s.cfg.ShutdownGrace.String())
	// Stop taking requests; requests in flight get a few seconds.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("http shutdown", "error", err)
	}
	// Operations started here finish, or are cancelled after the grace.
	gctx, gcancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer gcancel()
	err = s.cfg.App.Shutdown(gctx)
	// Subscribers have seen the operations end; now they go.
	s.hub.Close()
	hs.Close()
	if err != nil {
		return err
	}
	s.log.Info("stopped")
	return nil
}

// logRequests logs every request but the health probes and metrics
// scrapes, which would drown the rest.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			return
		}
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

// statusRecorder remembers the status a handler wrote. It passes
// Hijack and Flush through (WebSocket upgrades, streaming).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
