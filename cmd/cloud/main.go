// Command cloud deploys multi-stack Pulumi infrastructure, local-first.
// This package only wires flags to the application core (package app).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// A hangup (the terminal closed, the SSH session dropped) stops cloud
	// the way Ctrl-C does: running stacks are cancelled through the engine
	// and the operation ends cancelled with its summary.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args, newStreams())
	stop()
	os.Exit(code)
}
