// Command pulumi-resource-localfile is the Pulumi resource provider plugin for
// the localfile package (see providers/localfile). The engine starts it with
// its own gRPC address as the last argument; the plugin serves the provider
// on a free loopback port and prints that port on stdout, which is how the
// engine finds it.
//
// This is what the SDK's provider.Main (go/pulumi/provider) does. That
// package is not used because it imports the OpenTelemetry/OpenTracing
// bridge, a module missing from this repository's go.sum; serving directly
// with rpcutil keeps go.mod untouched and the binary smaller.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"

	"github.com/cloudplatform/cloud/providers/localfile"
)

func main() {
	if err := serve(); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-localfile: %v\n", err)
		os.Exit(1)
	}
}

func serve() error {
	// The engine may pass --tracing ADDR, and --logtostderr / -v=N (glog
	// flags, registered on import of the logging package). Accept them so a
	// verbose `pulumi up -v=9` does not make the plugin exit on a bad flag.
	flag.String("tracing", "", "Zipkin-compatible tracing endpoint (accepted and ignored)")
	flag.Parse()
	logging.InitLogging(false, 0, false)

	// The engine sends SIGINT when it is done with the plugin; stop gracefully.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()

	switch args := flag.Args(); len(args) {
	case 0:
		// Attach mode (PULUMI_DEBUG_PROVIDERS): no engine to watch.
	case 1:
		// Exit when the engine goes away, so a killed `pulumi` never leaves
		// orphaned plugins behind.
		var hcCancel context.CancelFunc
		ctx, hcCancel = context.WithCancel(ctx)
		defer hcCancel()
		if err := rpcutil.Healthcheck(ctx, args[0], 5*time.Minute, hcCancel); err != nil {
			return fmt.Errorf("health check of engine %s: %w", args[0], err)
		}
	default:
		return errors.New("usage: pulumi-resource-localfile [flags] [ENGINE-ADDRESS]")
	}

	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stop)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, localfile.New())
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		return err
	}
	// The plugin protocol: the first line on stdout is the port.
	fmt.Printf("%d\n", handle.Port)
	return <-handle.Done
}
