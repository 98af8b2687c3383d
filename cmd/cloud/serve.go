package main

// cloud serve: options, the run function building a server.Config, and the logger the core and the server share.

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/server"
	"github.com/urfave/cli/v2"
)

// serveOptions are what `cloud serve` runs with.
type serveOptions struct {
	App func() (*app.App, error)
	// Logger is the server's, which the core logs its background work
	// with too.
	Logger *slog.Logger
	Listen string
	// ShutdownGrace is how long running operations may finish after a
	// shutdown signal before they are cancelled.
	ShutdownGrace time.Duration
	PingInterval  time.Duration
	InitTimeout   time.Duration
	Auth          serveAuthOptions
	Limits        server.Limits
}

func serveCommand(e *env, runF func(context.Context, *serveOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the embedded server: GraphQL, REST, live event subscriptions",
		Description: `Serves the APIs of this cloud home: a live web dashboard at /, GraphQL at
/graphql (queries, mutations, and subscriptions over WebSocket with
graphql-transport-ws), a playground at /graphql/playground, REST at /api/v1
(OpenAPI document at /api/v1/openapi.json), /healthz, /readyz and
Prometheus metrics at /metrics.

Operations started through the API run in the server. The server and CLI
processes sharing one home never run two operations on the same deployment
and environment at once. On SIGINT, SIGTERM or SIGHUP the server stops taking
requests, lets running operations finish for --shutdown-grace, then
cancels them through the Pulumi engine: none is left running.

Logs are structured (log/slog) on stderr: text, or JSON with --log-format
json.

When team sync is configured (cloud sync configure), the server pushes and
pulls in the background every sync interval (default 30s), with backoff
when the table is unreachable; /readyz reports it under "sync" and
/metrics as cloud_sync_*. The global --offline turns it off (and the team
lock of the server's operations).

Authentication (docs/security.md, docs/cognito.md): --auth none (the
default) serves everyone who reaches the address as the local user, so it
binds to loopback; another address needs --allow-unauthenticated. --auth
cognito checks a Cognito token on every request (REST and GraphQL:
Authorization: Bearer; subscriptions: the connection_init payload) and
applies the caller's role (groups admin, deployer, viewer). The pool comes
from $CLOUD_HOME/auth.json, CLOUD_COGNITO_* variables, the flags, or the
outputs of a deployed platform stack (--cognito-from ID/ENV). Every client
is rate limited (--rate-limit, --burst); CORS is off unless --cors-origin.

Examples:
   cloud serve
   cloud serve --listen 127.0.0.1:9090 --log-format json
   cloud serve --listen :8443 --auth cognito --cognito-user-pool-id eu-west-1_AbC123 --cognito-client-id 4f…
   cloud serve --listen :8443 --cognito-from D1BRV40/prod
   curl -s localhost:8080/api/v1/deployments`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "address to listen on", EnvVars: []string{"CLOUD_LISTEN"}},
			&cli.DurationFlag{Name: "shutdown-grace", Value: 30 * time.Second, Usage: "how long running operations may finish after a shutdown signal before they are cancelled"},
			&cli.DurationFlag{Name: "ping-interval", Value: 15 * time.Second, Usage: "how often WebSocket clients are pinged; one silent for two intervals is disconnected"},
			&cli.DurationFlag{Name: "ws-init-timeout", Value: server.DefaultInitTimeout, Usage: "how long a WebSocket client has to send connection_init; graphql-transport-ws closes it with 4408 after"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn or error"},
		}, serveAuthFlags()...),
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			log, err := newLogger(e.io.Err, c.String("log-format"), c.String("log-level"))
			if err != nil {
				return err
			}
			opts := &serveOptions{App: e.lazyApp(c), Logger: log, Listen: c.String("listen"),
				ShutdownGrace: c.Duration("shutdown-grace"), PingInterval: c.Duration("ping-interval"),
				InitTimeout: c.Duration("ws-init-timeout"), Auth: serveAuthFromFlags(c), Limits: serveLimits(c)}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.serveRun(c.Context, opts)
		},
	}
}

// serveRun serves the APIs until ctx is done.
func (e *env) serveRun(ctx context.Context, opts *serveOptions) error {
	// Set before the store is opened: the core logs with the logger it is
	// opened with.
	e.logger = opts.Logger
	// Every event delivered to a subscriber allocates; a larger heap
	// target than Go's default halves the collector's work for a heap of a
	// few tens of megabytes (see docs/performance.md). GOGC still
	// overrides it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	a, err := opts.App()
	if err != nil {
		return err
	}
	authn, err := e.serveAuth(ctx, a, opts.Logger, opts.Listen, opts.Auth)
	if err != nil {
		return err
	}
	cfg := server.Config{Listen: opts.Listen, App: a, Logger: opts.Logger,
		ShutdownGrace: opts.ShutdownGrace, KeepAlive: opts.PingInterval,
		InitTimeout: opts.InitTimeout, Auth: authn, Limits: opts.Limits}
	if eng, sc, err := a.BackgroundSync(ctx); err != nil {
		return err
	} else if eng != nil {
		// Sync runs beside the server and never blocks it: an unreachable
		// table shows as degraded in /readyz.
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		go func() { _ = eng.Run(ctx, sc.SyncInterval()) }()
		opts.Logger.Info("team sync on", "table", sc.Table, "interval", sc.SyncInterval())
		cfg.Sync = eng
	}
	srv := server.New(cfg)
	return srv.Serve(ctx, func(addr net.Addr) {
		e.status("serving on http://%s (dashboard /, GraphQL /graphql, REST /api/v1); Ctrl-C stops", addr)
	})
}

// newLogger is the server's logger on w: format text or json, at level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError("--log-format %q: want text or json", format)
}
