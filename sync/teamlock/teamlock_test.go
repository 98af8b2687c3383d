package teamlock_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
	"github.com/cloudplatform/cloud/sync/teamlock"
)

// guard bounds every wait of these tests. It only catches a hang: nothing
// here depends on how fast the machine is, because the clock is the
// test's and the heartbeat beats when the test says.
const guard = 30 * time.Second

// ttl is the leases' length on the test's clock; it never passes by
// itself.
const ttl = time.Minute

// clock is a wall clock that moves only when the test advances it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// heart drives a heartbeat by hand: every beat is the test's, and the test
// learns when it is done.
type heart struct {
	beats chan time.Time
	done  chan error
}

func newHeart() *heart { return &heart{beats: make(chan time.Time), done: make(chan error, 1)} }

// newLock returns a teamlock.Lock on tbl whose clock is clk and whose
// heartbeat beats when the test says (through hr).
func newLock(tbl *remote.Table, clk *clock, hr *heart) *teamlock.Lock {
	l := teamlock.New(func(context.Context) (*remote.Table, error) { return tbl, nil })
	l.TTL = ttl
	l.Now = clk.Now
	l.Ticker = func(time.Duration) (<-chan time.Time, func()) { return hr.beats, func() {} }
	l.AfterBeat = func(err error) { hr.done <- err }
	return l
}

// beat makes the heartbeat renew once and returns the renewal's error once
// the beat is done (Lost closed if it lost the lease).
func (hr *heart) beat(t *testing.T) error {
	t.Helper()
	select {
	case hr.beats <- time.Time{}:
	case <-time.After(guard):
		t.Fatal("the heartbeat took no beat")
	}
	select {
	case err := <-hr.done:
		return err
	case <-time.After(guard):
		t.Fatal("a beat never ended")
	}
	return nil
}

func lost(h teamlock.HeldLock) bool {
	select {
	case <-h.Lost():
		return true
	default:
		return false
	}
}

// TestLock_HeartbeatAndTakeover: the heartbeat keeps a lease alive past its
// TTL, so another holder is refused; once the lease is broken and taken by
// someone else, the next heartbeat closes Lost.
func TestLock_HeartbeatAndTakeover(t *testing.T) {
	srv := dynamotest.Start(t)
	clk := newClock()
	tbl := srv.NewTable(t, remote.WithClock(clk.Now))
	ctx := context.Background()
	key := teamlock.Key("D1", "dev")
	hr := newHeart()

	h, err := newLock(tbl, clk, hr).Acquire(ctx, "D1", "dev", "r1/alice@m1", "deploy D1/dev")
	if err != nil {
		t.Fatal(err)
	}
	if h.Token() == 0 || h.Holder() != "r1/alice@m1" {
		t.Errorf("held: token %d holder %q", h.Token(), h.Holder())
	}
	if got, want := h.Until(), clk.Now().Add(ttl); !got.Equal(want) {
		t.Errorf("lease until %s, want %s", got, want)
	}
	// Four beats, a third of the TTL apart: past the first lease's end.
	for range 4 {
		clk.Advance(ttl / 3)
		if err := hr.beat(t); err != nil {
			t.Fatalf("renewal at %s: %v", clk.Now(), err)
		}
		if l, err := tbl.GetLease(ctx, key); err != nil || !l.Expires.Equal(clk.Now().Add(ttl)) {
			t.Fatalf("lease after a beat at %s: %+v, %v; want it until %s", clk.Now(), l, err, clk.Now().Add(ttl))
		}
	}
	if lost(h) {
		t.Fatal("lost a lease the heartbeat kept")
	}
	_, err = newLock(tbl, clk, newHeart()).Acquire(ctx, "D1", "dev", "r2/bob@m2", "deploy D1/dev")
	if !errors.Is(err, teamlock.ErrHeld) || !strings.Contains(err.Error(), "locked by r1/alice@m1 (deploy D1/dev) since") {
		t.Fatalf("second holder past the first lease's end: %v", err)
	}
	var he *remote.HeldError
	if !errors.As(err, &he) || he.Lease.Token != h.Token() {
		t.Errorf("refusal does not carry the lease: %v", err)
	}

	// Broken (unlock --force) and taken by bob: alice's heartbeat learns it.
	if _, err := tbl.BreakLease(ctx, key); err != nil {
		t.Fatal(err)
	}
	h2, err := newLock(tbl, clk, newHeart()).Acquire(ctx, "D1", "dev", "r2/bob@m2", "deploy D1/dev")
	if err != nil {
		t.Fatal(err)
	}
	if h2.Token() <= h.Token() {
		t.Errorf("token did not grow: %d then %d", h.Token(), h2.Token())
	}
	if lost(h) {
		t.Fatal("Lost closed before a heartbeat found the takeover")
	}
	if err := hr.beat(t); !errors.Is(err, remote.ErrLeaseLost) || !lost(h) {
		t.Fatalf("the beat after a takeover: %v, lost %v", err, lost(h))
	}
	if err := h.Release(ctx); !errors.Is(err, remote.ErrLeaseLost) {
		t.Errorf("release of a lost lease: %v", err)
	}
	if err := h2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h2.Release(ctx); err != nil {
		t.Errorf("second release: %v", err)
	}
	if _, err := tbl.GetLease(ctx, key); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("after release: %v", err)
	}
}

// TestLock_PartitionGivesUp: a holder cut off from the table keeps its
// lease through one failed renewal, and gives it up itself at the failed
// renewal after which it would lapse before the next beat, so it never
// goes on while another machine may have taken the lease at its end.
func TestLock_PartitionGivesUp(t *testing.T) {
	srv := dynamotest.Start(t)
	clk := newClock()
	tbl := srv.NewTable(t, remote.WithClock(clk.Now), remote.WithRetry(1, 10*time.Millisecond))
	hr := newHeart()
	h, err := newLock(tbl, clk, hr).Acquire(context.Background(), "D1", "dev", "r1/alice@m1", "deploy D1/dev")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(context.Background())
	until := h.Until()
	srv.Kill() // the partition: no renewal gets through from now on

	clk.Advance(ttl / 3)
	if err := hr.beat(t); err == nil || lost(h) {
		t.Fatalf("first beat cut off, two thirds of the lease left: %v, lost %v; want a failure that keeps the lease", err, lost(h))
	}
	clk.Advance(ttl / 3)
	if err := hr.beat(t); err == nil || !lost(h) {
		t.Fatalf("second beat cut off, a third of the lease left: %v, lost %v; want the lease given up", err, lost(h))
	}
	if now := clk.Now(); !now.Before(until) {
		t.Errorf("gave the lease up at %s, after it lapsed at %s", now, until)
	}
}

// TestLock_Unreachable: a table that never answers fails the acquisition
// at AcquireTimeout, and not as a held lock.
func TestLock_Unreachable(t *testing.T) {
	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	cfg := remote.Config{Table: "silent", Region: "us-east-1", Endpoint: "http://" + ln.Addr().String()}
	lock := teamlock.New(func(ctx context.Context) (*remote.Table, error) {
		return remote.Open(ctx, cfg, remote.WithRetry(1, time.Second), remote.WithHTTPTimeout(time.Hour))
	})
	lock.AcquireTimeout = 200 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		_, err := lock.Acquire(context.Background(), "D1", "dev", "r1/alice@m1", "deploy")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, teamlock.ErrHeld) {
			t.Fatalf("unreachable: %v, want the acquisition timeout", err)
		}
	case <-time.After(guard):
		t.Fatal("the acquisition outlived its timeout")
	}
}
