package teamlock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
	"github.com/cloudplatform/cloud/sync/teamlock"
)

func newLock(tbl *remote.Table, ttl time.Duration) *teamlock.Lock {
	l := teamlock.New(func(context.Context) (*remote.Table, error) { return tbl, nil })
	l.TTL = ttl
	return l
}

// TestLock_HeartbeatAndTakeover: the heartbeat keeps a short lease alive
// well past its TTL, so another holder is refused; once the lease is broken
// and taken by someone else, the next heartbeat closes Lost.
func TestLock_HeartbeatAndTakeover(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	ctx := context.Background()
	const ttl = 900 * time.Millisecond
	lock := newLock(tbl, ttl)

	h, err := lock.Acquire(ctx, "D1", "dev", "r1/alice@m1", "deploy D1/dev")
	if err != nil {
		t.Fatal(err)
	}
	if h.Token() == 0 || h.Holder() != "r1/alice@m1" {
		t.Errorf("held: token %d holder %q", h.Token(), h.Holder())
	}
	time.Sleep(3 * ttl)
	select {
	case <-h.Lost():
		t.Fatal("lost a lease the heartbeat should have kept")
	default:
	}
	_, err = newLock(tbl, ttl).Acquire(ctx, "D1", "dev", "r2/bob@m2", "deploy D1/dev")
	if !errors.Is(err, app.ErrTeamLockHeld) || !strings.Contains(err.Error(), "locked by r1/alice@m1 (deploy D1/dev) since") {
		t.Fatalf("second holder after 3 TTLs: %v", err)
	}
	var he *remote.HeldError
	if !errors.As(err, &he) || he.Lease.Token != h.Token() {
		t.Errorf("refusal does not carry the lease: %v", err)
	}

	// Broken (unlock --force) and taken by bob: alice's heartbeat learns it.
	if _, err := tbl.BreakLease(ctx, teamlock.Key("D1", "dev")); err != nil {
		t.Fatal(err)
	}
	h2, err := newLock(tbl, time.Minute).Acquire(ctx, "D1", "dev", "r2/bob@m2", "deploy D1/dev")
	if err != nil {
		t.Fatal(err)
	}
	if h2.Token() <= h.Token() {
		t.Errorf("token did not grow: %d then %d", h.Token(), h2.Token())
	}
	select {
	case <-h.Lost():
	case <-time.After(3 * ttl):
		t.Fatal("Lost not closed after a takeover")
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
	if _, err := tbl.GetLease(ctx, teamlock.Key("D1", "dev")); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("after release: %v", err)
	}
}

// TestLock_PartitionGivesUp: a holder cut off from the table gives the
// lease up itself before it could lapse, so it never goes on while
// another machine may have taken the lease at its end.
func TestLock_PartitionGivesUp(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	const ttl = 900 * time.Millisecond
	h, err := newLock(tbl, ttl).Acquire(context.Background(), "D1", "dev", "r1/alice@m1", "deploy D1/dev")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(context.Background())
	until := h.Until()
	srv.Kill() // the partition: no renewal gets through from now on
	select {
	case <-h.Lost():
		if now := time.Now(); !now.Before(until) {
			t.Errorf("gave the lease up at %s, after it lapsed at %s", now.Format(time.StampMilli), until.Format(time.StampMilli))
		}
	case <-time.After(3 * ttl):
		t.Fatal("a holder cut off from the table kept its lease past its end")
	}
}

// TestLock_Unreachable: a table nobody answers for fails the acquisition
// within the timeout, and not as a held lock.
func TestLock_Unreachable(t *testing.T) {
	srv := dynamotest.Start(t)
	cfg := srv.Config(t)
	srv.Kill()
	lock := teamlock.New(func(ctx context.Context) (*remote.Table, error) {
		return remote.Open(ctx, cfg, remote.WithRetry(1, time.Second))
	})
	lock.AcquireTimeout = 3 * time.Second
	start := time.Now()
	_, err := lock.Acquire(context.Background(), "D1", "dev", "r1/alice@m1", "deploy")
	if err == nil || errors.Is(err, app.ErrTeamLockHeld) {
		t.Fatalf("unreachable: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}
