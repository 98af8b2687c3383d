// Package kit is the small SDK a stack is written with. A stack declares its
// template (inputs, outputs, default dependencies) and its Pulumi program;
// its main function is one call to Main, which answers the two requests of
// the runner protocol (see package protocol): "describe" and "run".
package kit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is a stack program: its declared template and the Pulumi program
// that creates its resources.
type Stack struct {
	Template protocol.Template
	// Program creates the stack's resources. It reads its inputs through in
	// and exports its outputs through out, so that what it reads and exports
	// can be checked against the template.
	Program func(ctx *pulumi.Context, in *Inputs, out *Outputs) error
	// Mocks, when set, answer for the engine and the providers when the
	// program is validated (see Validate). Stacks whose programs call
	// provider functions (availability zones, caller identity) set mocks
	// that answer them realistically; nil uses mocks that echo inputs.
	Mocks pulumi.MockResourceMonitor
}

// Main answers the runner protocol on the process's arguments and standard
// streams, and exits. It is the whole main function of a stack binary.
func Main(s Stack) {
	os.Exit(Serve(s, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Serve answers one request of the runner protocol and returns the exit
// code: "describe" prints the template, "run" performs the request read from
// stdin. It stops the Pulumi operation cleanly on SIGINT, SIGTERM or
// SIGHUP, so that no lock is left behind.
func Serve(s Stack, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return ServeContext(context.Background(), s, args, stdin, stdout, stderr)
}

// ServeContext is Serve within ctx: a run stops cleanly when ctx ends, as
// on a signal. A program that handles signals itself before calling it
// (the cloud binary running a built-in stack) passes the context those
// signals cancel, so a signal that came before the run began is not lost.
func ServeContext(parent context.Context, s Stack, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "usage: %s describe|run\n", s.Template.Name)
		return 2
	}
	switch args[0] {
	case "describe":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s.Template); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	case "run":
		// A stack binary is a runner process of its own: SIGINT,
		// SIGTERM or SIGHUP (a hangup reaches the whole process group)
		// must stop its Pulumi operation cleanly too.
		ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		defer stop()
		return serveRun(ctx, stdin, stdout, stderr, func(ctx context.Context, req protocol.Request, w *writer) *protocol.Result {
			return run(ctx, s, req, w)
		})
	case "validate":
		return serveValidate(s, stdin, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown request %q: want describe or run\n", args[0])
		return 2
	}
}

// serveRun answers a "run" request: it reads the request from stdin, runs
// it within ctx (whose end stops the Pulumi operation cleanly), and writes
// the events and the result to stdout. It
// returns the exit code: 0, 1 when the run failed, 2 for a bad request.
func serveRun(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer,
	do func(ctx context.Context, req protocol.Request, w *writer) *protocol.Result) int {
	var req protocol.Request
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		fmt.Fprintf(stderr, "read run request: %v\n", err)
		return 2
	}
	w := newWriter(stdout)
	res := do(ctx, req, w)
	w.send(protocol.Message{Kind: protocol.KindResult, Result: res})
	if res.Error != "" {
		return 1
	}
	return 0
}
