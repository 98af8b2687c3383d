// Package teamlock is the team lock of app.TeamLock on the sync table: a
// lease on "<deployment>#<environment>" (remote.AcquireLease), renewed by a
// heartbeat every third of its TTL while the operation runs, and released
// at its end.
package teamlock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/sync/remote"
)

// DefaultTTL is how long a lease lasts unless renewed: long against the
// clock skew between the team's machines, short enough that a machine that
// died frees the environment within a minute.
const DefaultTTL = 60 * time.Second

// DefaultAcquireTimeout bounds the first call to the table: an unreachable
// table must not hang a deploy, which then runs with a warning.
const DefaultAcquireTimeout = 5 * time.Second

// Opener opens the table when the lock is first needed, so commands that
// take no lock never touch the network.
type Opener func(ctx context.Context) (*remote.Table, error)

// Lock is an app.TeamLock on a sync table.
type Lock struct {
	open Opener
	// TTL is the lease's length; the heartbeat renews it every TTL/3.
	TTL time.Duration
	// AcquireTimeout bounds opening the table and the acquisition.
	AcquireTimeout time.Duration

	mu  sync.Mutex // guards tbl
	tbl *remote.Table
}

var _ app.TeamLock = (*Lock)(nil)

// New returns a team lock on the table open returns, with DefaultTTL and
// DefaultAcquireTimeout.
func New(open Opener) *Lock {
	return &Lock{open: open, TTL: DefaultTTL, AcquireTimeout: DefaultAcquireTimeout}
}

// Key is the lease key of a deployment's environment.
func Key(deploymentID, env string) string { return deploymentID + "#" + env }

func (l *Lock) table(ctx context.Context) (*remote.Table, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tbl != nil {
		return l.tbl, nil
	}
	t, err := l.open(ctx)
	if err != nil {
		return nil, err
	}
	l.tbl = t
	return t, nil
}

// heldError is the refusal app sees: the lease's own message, matching
// app.ErrTeamLockHeld and unwrapping to the *remote.HeldError.
type heldError struct{ held *remote.HeldError }

func (e *heldError) Error() string       { return e.held.Error() }
func (e *heldError) Unwrap() []error     { return []error{e.held, app.ErrTeamLockHeld} }
func (e *heldError) Lease() remote.Lease { return e.held.Lease }

// Acquire takes the lease and starts its heartbeat. It returns an error
// wrapping app.ErrTeamLockHeld (and the *remote.HeldError) when someone
// else holds it, and the table's error when it cannot be reached within
// AcquireTimeout.
func (l *Lock) Acquire(ctx context.Context, deploymentID, env, holder, info string) (app.HeldTeamLock, error) {
	actx, cancel := context.WithTimeout(ctx, l.AcquireTimeout)
	defer cancel()
	t, err := l.table(actx)
	if err != nil {
		return nil, err
	}
	lease, err := t.AcquireLease(actx, Key(deploymentID, env), holder, info, l.TTL)
	var he *remote.HeldError
	if errors.As(err, &he) {
		return nil, &heldError{held: he}
	}
	if err != nil {
		return nil, err
	}
	h := &Held{tbl: t, ttl: l.TTL, lease: lease, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go h.heartbeat()
	return h, nil
}

// Held is an acquired lease with its heartbeat running.
type Held struct {
	tbl  *remote.Table
	ttl  time.Duration
	lost chan struct{}
	stop chan struct{} // closed by Release: the heartbeat ends
	done chan struct{} // closed when the heartbeat has ended

	mu       sync.Mutex // guards lease and stopped
	lease    remote.Lease
	stopped  bool
	lostOnce sync.Once
}

var _ app.HeldTeamLock = (*Held)(nil)

// Token returns the lease's fencing token.
func (h *Held) Token() int64 { return h.Lease().Token }

// Holder returns who holds the lease.
func (h *Held) Holder() string { return h.Lease().Holder }

// Until returns when the lease lapses unless renewed again.
func (h *Held) Until() time.Time { return h.Lease().Expires }

// Lease returns the lease as last renewed.
func (h *Held) Lease() remote.Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

// Lost is closed when a renewal finds the lease broken or taken over, or
// when renewals failed until the lease would lapse before the next one.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// heartbeat renews the lease every third of its TTL, so one renewal may
// fail (a network blip) and the next still keep it. A renewal that finds
// the lease broken or taken over (ErrLeaseLost) ends it at once. So does a
// failed renewal after which the lease would lapse before the next beat:
// a holder cut off from the table (a partition) cannot know whether
// another machine takes the lease at its end, so it gives the lease up
// itself, a beat before anyone else may take it, rather than go on
// changing infrastructure another holder may be changing too. Expires is
// this machine's own clock's reading, so no skew enters that decision.
func (h *Held) heartbeat() {
	defer close(h.done)
	tick := time.NewTicker(h.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.ttl/3)
		nl, err := h.tbl.RenewLease(ctx, h.Lease(), h.ttl)
		cancel()
		switch {
		case errors.Is(err, remote.ErrLeaseLost):
			h.lostOnce.Do(func() { close(h.lost) })
			return
		case err == nil:
			h.mu.Lock()
			h.lease = nl
			h.mu.Unlock()
		case !time.Now().Add(h.ttl / 3).Before(h.Lease().Expires):
			h.lostOnce.Do(func() { close(h.lost) })
			return
		}
	}
}

// Release stops the heartbeat and frees the lease. Releasing twice frees
// it once. It returns an error wrapping remote.ErrLeaseLost when someone
// else holds the lease by now.
func (h *Held) Release(ctx context.Context) error {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return nil
	}
	h.stopped = true
	h.mu.Unlock()
	close(h.stop)
	<-h.done
	if err := h.tbl.ReleaseLease(ctx, h.Lease()); err != nil {
		return fmt.Errorf("release the team lock: %w", err)
	}
	return nil
}
