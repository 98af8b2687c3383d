// Package teamlock is the team lock on the sync table: a lease on
// "<deployment>#<environment>" (remote.AcquireLease), renewed by a
// heartbeat every third of its TTL while the operation runs, and released
// at its end. It defines the interfaces the application core takes the
// lock through (app.TeamLock is Locker) and imports no application
// package.
package teamlock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/sync/remote"
)

// ErrHeld is wrapped by Acquire's error when someone else holds the lock;
// the error's own message names them ("locked by … since …, lease until
// …"). app.ErrTeamLockHeld is this error.
var ErrHeld = errors.New("team lock held")

// Locker is the lock the team shares, taken around every operation that
// changes infrastructure so two machines never deploy the same environment
// at once (app.TeamLock).
type Locker interface {
	// Acquire takes the lock on a deployment's environment for holder
	// (who: replica, user and machine), with info saying why (the
	// operation). It returns an error wrapping ErrHeld when someone else
	// holds it, and any other error when the lock could not be asked for
	// (the table is unreachable).
	Acquire(ctx context.Context, deploymentID, env, holder, info string) (HeldLock, error)
}

// HeldLock is an acquired team lock, kept alive by a heartbeat until
// Release (app.HeldTeamLock).
type HeldLock interface {
	// Token is the fencing token of this acquisition: it grows with every
	// acquisition, so the operation that holds the lock can be told apart
	// from any earlier holder.
	Token() int64
	// Holder and Until say who holds it and until when the lease runs
	// unless renewed (for the record).
	Holder() string
	Until() time.Time
	// Lost is closed when a heartbeat finds the lock taken over or broken:
	// the holder must stop.
	Lost() <-chan struct{}
	// Release stops the heartbeat and frees the lock. It returns an error
	// when the lock could not be freed (it then lapses at its lease end).
	Release(ctx context.Context) error
}

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

// Lock is a Locker on a sync table.
type Lock struct {
	open Opener
	// TTL is the lease's length; the heartbeat renews it every TTL/3.
	TTL time.Duration
	// AcquireTimeout bounds opening the table and the acquisition.
	AcquireTimeout time.Duration
	// Now is the clock the heartbeat judges the lease's end by (default
	// time.Now); a test pairs it with the table's (remote.WithClock).
	Now func() time.Time
	// Ticker starts the heartbeat's beats every d and returns them with
	// the function that stops them (default a time.Ticker); a test beats
	// by hand.
	Ticker func(d time.Duration) (beats <-chan time.Time, stop func())
	// AfterBeat, when set, is called after every renewal the heartbeat
	// tried, with its error (nil: renewed), once Lost is closed if the
	// beat lost the lease; a test waits on it.
	AfterBeat func(err error)

	mu  sync.Mutex // guards tbl
	tbl *remote.Table
}

var _ Locker = (*Lock)(nil)

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

// heldError is the refusal: the lease's own message, matching ErrHeld and
// unwrapping to the *remote.HeldError.
type heldError struct{ held *remote.HeldError }

func (e *heldError) Error() string       { return e.held.Error() }
func (e *heldError) Unwrap() []error     { return []error{e.held, ErrHeld} }
func (e *heldError) Lease() remote.Lease { return e.held.Lease }

// Acquire takes the lease and starts its heartbeat. It returns an error
// wrapping ErrHeld (and the *remote.HeldError) when someone
// else holds it, and the table's error when it cannot be reached within
// AcquireTimeout.
func (l *Lock) Acquire(ctx context.Context, deploymentID, env, holder, info string) (HeldLock, error) {
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
	now, ticker := l.Now, l.Ticker
	if now == nil {
		now = time.Now
	}
	if ticker == nil {
		ticker = func(d time.Duration) (<-chan time.Time, func()) {
			tk := time.NewTicker(d)
			return tk.C, tk.Stop
		}
	}
	h := &Held{tbl: t, ttl: l.TTL, now: now, afterBeat: l.AfterBeat, lease: lease, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	beats, stop := ticker(l.TTL / 3)
	go h.heartbeat(beats, stop)
	return h, nil
}

// Held is an acquired lease with its heartbeat running.
type Held struct {
	tbl *remote.Table
	ttl time.Duration
	now func() time.Time
	// afterBeat is Lock.AfterBeat.
	afterBeat func(error)
	lost      chan struct{}
	stop      chan struct{} // closed by Release: the heartbeat ends
	done      chan struct{} // closed when the heartbeat has ended

	mu       sync.Mutex // guards lease and stopped
	lease    remote.Lease
	stopped  bool
	lostOnce sync.Once
}

var _ HeldLock = (*Held)(nil)

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
func (h *Held) heartbeat(beats <-chan time.Time, stop func()) {
	defer close(h.done)
	defer stop()
	for {
		select {
		case <-h.stop:
			return
		case <-beats:
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.ttl/3)
		nl, err := h.tbl.RenewLease(ctx, h.Lease(), h.ttl)
		cancel()
		lost := false
		switch {
		case errors.Is(err, remote.ErrLeaseLost):
			lost = true
		case err == nil:
			h.mu.Lock()
			h.lease = nl
			h.mu.Unlock()
		case !h.now().Add(h.ttl / 3).Before(h.Lease().Expires):
			lost = true
		}
		if lost {
			h.lostOnce.Do(func() { close(h.lost) })
		}
		if h.afterBeat != nil {
			h.afterBeat(err)
		}
		if lost {
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
