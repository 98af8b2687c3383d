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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, newStreams())
	stop()
	os.Exit(code)
}
