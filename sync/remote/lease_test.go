package remote_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
)

// clock is a wall clock the test moves by hand, shared by the machines of
// a test so lease expiry needs no sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestTable_Lease(t *testing.T) {
	srv := dynamotest.Start(t)
	clk := &clock{t: t0}
	cfg := srv.Config(t)
	tbl := dynamotest.CreateTable(t, cfg, remote.WithClock(clk.now))
	const key, ttl = "D1#prod", time.Minute

	if _, err := tbl.GetLease(ctx, key); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("GetLease of a free key = %v, want ErrNotFound", err)
	}
	a, err := tbl.AcquireLease(ctx, key, "alice@m1", "deploy OP1", ttl)
	if err != nil {
		t.Fatal(err)
	}
	if a.Holder != "alice@m1" || a.Info != "deploy OP1" || !a.Acquired.Equal(t0) || !a.Expires.Equal(t0.Add(ttl)) || a.Token <= 0 {
		t.Fatalf("acquired %+v", a)
	}
	if g, err := tbl.GetLease(ctx, key); err != nil || g != a {
		t.Fatalf("GetLease = %+v, %v; want %+v", g, err, a)
	}
	// The lease item carries a TTL (expiresAt) well after its expiry.
	raw, err := tbl.Get(ctx, "lock#"+key, "lock")
	if err != nil || raw.ExpiresAt != t0.Add(ttl).Add(remote.LeaseRetention).Unix() {
		t.Errorf("lease item expiresAt = %d, %v", raw.ExpiresAt, err)
	}

	// Contention: bob is refused with a message naming alice.
	_, err = tbl.AcquireLease(ctx, key, "bob@m2", "destroy OP2", ttl)
	var held *remote.HeldError
	if !errors.As(err, &held) || held.Lease != a {
		t.Fatalf("contended acquire = %v, want HeldError of %+v", err, a)
	}
	if got, want := err.Error(), "locked by alice@m1 (deploy OP1) since 2026-11-26T10:59:00Z, lease until 2026-11-26T11:00:00Z"; got != want {
		t.Errorf("HeldError = %q, want %q", got, want)
	}
	// The holder acquires again: a new token, one more.
	a2, err := tbl.AcquireLease(ctx, key, "alice@m1", "deploy OP1", ttl)
	if err != nil || a2.Token != a.Token+1 {
		t.Fatalf("re-acquire = %+v, %v; want token %d", a2, err, a.Token+1)
	}
	if err := tbl.CheckFence(ctx, key, a2.Token); err != nil {
		t.Errorf("CheckFence current = %v", err)
	}
	if err := tbl.CheckFence(ctx, key, a.Token); !errors.Is(err, remote.ErrLeaseLost) {
		t.Errorf("CheckFence stale = %v, want ErrLeaseLost", err)
	}
	// Heartbeat.
	clk.add(30 * time.Second)
	a3, err := tbl.RenewLease(ctx, a2, ttl)
	if err != nil || a3.Token != a2.Token || !a3.Expires.Equal(clk.now().Add(ttl)) {
		t.Fatalf("renew = %+v, %v", a3, err)
	}
	// Stale: renewing the superseded lease a fails.
	if _, err := tbl.RenewLease(ctx, a, ttl); !errors.Is(err, remote.ErrLeaseLost) {
		t.Errorf("renew stale = %v, want ErrLeaseLost", err)
	}

	// Fenced writes: once written with a3's token, a stale holder with an
	// older token is rejected.
	w := item("d#D1", "state#prod#net", ts(t0, 0), "m1", `{"by":"a3"}`)
	if err := tbl.PutFenced(ctx, w, a3.Token); err != nil {
		t.Fatal(err)
	}

	// Expiry and takeover: alice stops renewing; after the expiry bob
	// takes over with a greater token.
	clk.add(2 * ttl)
	if err := tbl.CheckFence(ctx, key, a3.Token); !errors.Is(err, remote.ErrLeaseLost) {
		t.Errorf("CheckFence after expiry = %v, want ErrLeaseLost", err)
	}
	b, err := tbl.AcquireLease(ctx, key, "bob@m2", "destroy OP2", ttl)
	if err != nil || b.Token != a3.Token+1 || b.Holder != "bob@m2" {
		t.Fatalf("takeover = %+v, %v", b, err)
	}
	if err := tbl.PutFenced(ctx, w, b.Token); err != nil {
		t.Fatal(err)
	}
	late := w
	late.Payload = []byte(`{"by":"alice, late"}`)
	if err := tbl.PutFenced(ctx, late, a3.Token); !errors.Is(err, remote.ErrLeaseLost) {
		t.Errorf("late fenced write of the stale holder = %v, want ErrLeaseLost", err)
	}
	if got, err := tbl.Get(ctx, w.PK, w.SK); err != nil || string(got.Payload) != `{"by":"a3"}` {
		t.Errorf("fenced item = %s, %v", got.Payload, err)
	}
	// The stale holder can neither renew nor release.
	if _, err := tbl.RenewLease(ctx, a3, ttl); !errors.Is(err, remote.ErrLeaseLost) {
		t.Errorf("stale renew = %v", err)
	}
	if err := tbl.ReleaseLease(ctx, a3); !errors.Is(err, remote.ErrLeaseLost) {
		t.Errorf("stale release = %v", err)
	}
	// Release by the holder frees it; a release twice is lost.
	if err := tbl.ReleaseLease(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := tbl.ReleaseLease(ctx, b); err != nil {
		t.Errorf("second release (a retry) = %v, want nil", err)
	}
	if _, err := tbl.GetLease(ctx, key); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("GetLease after release = %v", err)
	}
	// Tokens keep growing after a release.
	c, err := tbl.AcquireLease(ctx, key, "carol@m3", "", ttl)
	if err != nil || c.Token != b.Token+1 {
		t.Fatalf("acquire after release = %+v, %v; want token %d", c, err, b.Token+1)
	}
	// Break: returns what it removed; the holder has lost it; tokens go on.
	broken, err := tbl.BreakLease(ctx, key)
	if err != nil || broken != c {
		t.Fatalf("BreakLease = %+v, %v; want %+v", broken, err, c)
	}
	if _, err := tbl.BreakLease(ctx, key); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("BreakLease of a free key = %v, want ErrNotFound", err)
	}
	if _, err := tbl.RenewLease(ctx, c, ttl); !errors.Is(err, remote.ErrLeaseLost) {
		t.Errorf("renew after break = %v", err)
	}
	if err := tbl.CheckFence(ctx, key, c.Token); !errors.Is(err, remote.ErrLeaseLost) {
		t.Errorf("CheckFence after break = %v", err)
	}
	d, err := tbl.AcquireLease(ctx, key, "dave@m4", "", ttl)
	if err != nil || d.Token != c.Token+1 {
		t.Fatalf("acquire after break = %+v, %v", d, err)
	}
	if _, err := tbl.AcquireLease(ctx, key, "", "", ttl); err == nil || !strings.Contains(err.Error(), "holder") {
		t.Errorf("acquire without holder = %v", err)
	}
}

// TestTable_LeaseRace: of many machines acquiring a free lease at once,
// exactly one gets it.
func TestTable_LeaseRace(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, refused := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := tbl.AcquireLease(ctx, "race", string(rune('a'+i)), "", time.Hour)
			mu.Lock()
			defer mu.Unlock()
			var held *remote.HeldError
			switch {
			case err == nil:
				won++
			case errors.As(err, &held):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || refused != 7 {
		t.Errorf("won %d, refused %d; want 1 and 7", won, refused)
	}
}
