package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/store"
)

// DefaultParallel is how many stacks run at once when a request does not
// say.
const DefaultParallel = 4

// MaxParallel is the most stacks a request may run at once: every door
// refuses more, rather than start a thousand Pulumi engines.
const MaxParallel = 64

// background tracks the operations this process runs, so that an API call
// can cancel one running in the server and a shutdown can wait for them.
type background struct {
	mu      sync.Mutex
	running map[string]context.CancelFunc // operation ID -> cancel
	closing bool
	wg      sync.WaitGroup
	ctx     context.Context // parent of every background operation
	stop    context.CancelFunc
}

func (b *background) init() {
	b.running = map[string]context.CancelFunc{}
	b.ctx, b.stop = context.WithCancel(context.Background())
}

// track registers the cancel function of an operation this process runs;
// untrack forgets it when the operation ends.
func (b *background) track(id string, cancel context.CancelFunc) {
	b.mu.Lock()
	b.running[id] = cancel
	b.mu.Unlock()
}

func (b *background) untrack(id string) {
	b.mu.Lock()
	delete(b.running, id)
	b.mu.Unlock()
}

func (b *background) cancel(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.running[id]
	if ok {
		c()
	}
	return ok
}

// ErrShuttingDown refuses new operations once Shutdown has begun.
var ErrShuttingDown = errors.New("server is shutting down")

// Start starts an operation in the background and returns as soon as it is
// recorded (running), or with the error that kept it from starting: a busy
// environment, a validation failure, a bad request. The operation runs on
// after ctx ends; Cancel stops it and Shutdown waits for it.
func (a *App) Start(ctx context.Context, req RunRequest) (*store.Operation, error) {
	return a.background(ctx, &req, func(bg context.Context) error {
		_, err := a.Run(bg, req)
		return err
	})
}

// StartRollback is Start for a rollback. A rollback that must first destroy
// stacks absent from the target revision returns with that destroy (the
// first operation); the rollback itself follows it.
func (a *App) StartRollback(ctx context.Context, req RollbackRequest) (*store.Operation, error) {
	return a.background(ctx, &req.Run, func(bg context.Context) error {
		_, err := a.Rollback(bg, req)
		return err
	})
}

// StartDisable is Start for disable-environment with Destroy: the destroy
// runs in the background and the environment is disabled when it succeeds.
func (a *App) StartDisable(ctx context.Context, req SetEnvironmentRequest) (*store.Operation, error) {
	if err := authorize(ctx, accessAdmin, "enable or disable environments of "+req.DeploymentID, nil); err != nil {
		return nil, err
	}
	return a.background(ctx, &req.Run, func(bg context.Context) error {
		_, _, err := a.SetEnvironment(bg, req)
		return err
	})
}

// background runs do in a goroutine under the App's background context and
// waits until run.Started reports the first operation, or do returns.
func (a *App) background(ctx context.Context, run *RunRequest, do func(bg context.Context) error) (*store.Operation, error) {
	b := &a.bg
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return nil, ErrShuttingDown
	}
	b.wg.Add(1)
	b.mu.Unlock()
	if run.Parallel == 0 {
		run.Parallel = DefaultParallel
	}
	started := make(chan *store.Operation, 1)
	prev := run.Started
	run.Started = func(op *store.Operation, layers map[string]int) {
		if prev != nil {
			prev(op, layers)
		}
		select {
		case started <- op:
		default: // a rollback's second operation: the caller has its answer
		}
	}
	done := make(chan error, 1)
	go func() {
		defer b.wg.Done()
		// The caller goes with the operation: it is recorded, and its
		// role is checked, as if it ran in the request.
		err := do(WithCaller(b.ctx, CallerFrom(ctx)))
		if err != nil && !errors.Is(err, ErrFailed) && !errors.Is(err, ErrCancelled) {
			a.log().Warn("background operation", "deployment", run.DeploymentID, "environment", run.Environment, "error", err)
		}
		done <- err
	}()
	select {
	case op := <-started:
		return op, nil
	case err := <-done:
		select {
		case op := <-started: // started, then ended before we looked
			return op, nil
		default:
		}
		if err == nil {
			return nil, fmt.Errorf("%s of %s in %s: nothing to run", run.Kind, run.DeploymentID, run.Environment)
		}
		return nil, err
	case <-ctx.Done():
		// The operation goes on (it may be about to start); the caller
		// stopped waiting.
		return nil, ctx.Err()
	}
}

// Shutdown refuses new background operations and waits for the running
// ones to end. When ctx ends first, it cancels them (each stops through
// the Pulumi engine and is recorded cancelled) and waits for that.
func (a *App) Shutdown(ctx context.Context) error {
	b := &a.bg
	b.mu.Lock()
	b.closing = true
	n := len(b.running)
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	a.log().Warn("shutdown: cancelling running operations", "operations", n)
	b.stop()
	select {
	case <-done:
		return nil
	case <-time.After(2 * time.Minute):
		return errors.New("shutdown: operations did not stop after being cancelled")
	}
}

// Running lists the IDs of the operations this process runs now.
func (a *App) Running() []string {
	a.bg.mu.Lock()
	defer a.bg.mu.Unlock()
	ids := make([]string, 0, len(a.bg.running))
	for id := range a.bg.running {
		ids = append(ids, id)
	}
	return ids
}

func (a *App) log() *slog.Logger { return a.cfg.Logger }
