package faultproxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cloudplatform/cloud/store/hlc"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/faultproxy"
	"github.com/cloudplatform/cloud/sync/remote"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)
)

func ts(t time.Time, logical int) string {
	return hlc.Timestamp{Wall: t.UnixMilli(), Logical: uint16(logical)}.String()
}

// workload is a little of everything the sync engine will do: competing
// versions of mutable records (in a scrambled order, with retries), event
// batches, append-only items, leases, and a read of the change feed. It
// returns what it saw: the puts' results and the feed.
func workload(t *testing.T, tbl *remote.Table) []string {
	t.Helper()
	if err := tbl.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	var log []string // what the workload saw: PutIfNewer results, then the feed
	for round := range 3 {
		for k := range 8 {
			// Versions arrive out of order: 2, 0, 1 for some records.
			v := (round + k) % 3
			it := remote.Item{
				PK: "d#D1", SK: fmt.Sprintf("stack#s%d", k), Entity: "deployment_stacks",
				Key: json.RawMessage(fmt.Sprintf(`["D1","s%d"]`, k)), Version: int64(v + 1),
				HLC: ts(t0, v), Replica: fmt.Sprintf("r%d", v%2),
				Payload: json.RawMessage(fmt.Sprintf(`{"v":%d}`, v)),
				FeedHLC: ts(t0.Add(time.Duration(round)*time.Minute), k),
			}
			applied, _, err := tbl.PutIfNewer(ctx, it)
			if err != nil {
				t.Fatalf("PutIfNewer: %v", err)
			}
			// A retry of an applied put (answer dropped) must count as
			// applied too, or the engine would record a false conflict.
			log = append(log, fmt.Sprintf("put %s v%d applied=%v", it.SK, v, applied))
		}
	}
	var events []remote.Item
	for i := range 60 {
		events = append(events, remote.Item{PK: "d#D1", SK: fmt.Sprintf("ev#OP1#%08d", i), Entity: "events",
			HLC: ts(t0, i), Replica: "r0", Payload: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, i)),
			FeedHLC: ts(t0.Add(5*time.Minute), i)})
	}
	if err := tbl.PutAppendOnly(ctx, events); err != nil {
		t.Fatalf("PutAppendOnly: %v", err)
	}
	for i := range 5 {
		it := remote.Item{PK: "d#D1", SK: fmt.Sprintf("op#OP%d", i), HLC: ts(t0, i), Replica: "r0",
			Payload: json.RawMessage(`{"status":"succeeded"}`), FeedHLC: ts(t0.Add(6*time.Minute), i)}
		if _, err := tbl.PutIfAbsent(ctx, it); err != nil {
			t.Fatalf("PutIfAbsent: %v", err)
		}
	}
	for i := range 4 {
		key := fmt.Sprintf("D1#env%d", i)
		l, err := tbl.AcquireLease(ctx, key, "alice@m1", "deploy", time.Hour)
		if err != nil {
			t.Fatalf("AcquireLease: %v", err)
		}
		if l, err = tbl.RenewLease(ctx, l, 2*time.Hour); err != nil {
			t.Fatalf("RenewLease: %v", err)
		}
		if i%2 == 0 {
			if err := tbl.ReleaseLease(ctx, l); err != nil {
				t.Fatalf("ReleaseLease: %v", err)
			}
		}
	}
	_, err := tbl.Changes(ctx, remote.Cursor(t0.Add(-time.Minute)), t0.Add(time.Hour), func(it remote.Item) error {
		log = append(log, "feed "+it.SK+"="+string(it.Payload))
		return nil
	})
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	return log
}

// dump returns every item of the table as sorted text. Lease tokens are
// left out: an acquisition retried after a lost answer takes one more
// token, which is allowed (tokens only need to grow).
func dump(t *testing.T, tbl *remote.Table) []string {
	t.Helper()
	var out []string
	err := tbl.Scan(ctx, func(it remote.Item) error {
		delete(it.Extra, remote.AttrToken)
		var extra []string
		for k, v := range it.Extra {
			var s string
			switch v := v.(type) {
			case *types.AttributeValueMemberS:
				s = v.Value
			case *types.AttributeValueMemberN:
				s = v.Value
			}
			extra = append(extra, k+"="+s)
		}
		sort.Strings(extra)
		it.Extra = nil
		out = append(out, fmt.Sprintf("%+v %v", it, extra))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestProxy_RemoteSurvivesFaults(t *testing.T) {
	srv := dynamotest.Start(t)
	now := func() time.Time { return t0 }

	clean := srv.Config(t)
	cleanTbl, err := remote.Open(ctx, clean, remote.WithClock(now), remote.WithPageSize(10))
	if err != nil {
		t.Fatal(err)
	}
	wantFeed := workload(t, cleanTbl)

	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Faults{
		DropRate: 0.06, DelayRate: 0.05, Delay: 2 * time.Millisecond, Error500Rate: 0.05, ThrottleRate: 0.05,
	})
	faulty := srv.Config(t)
	faulty.Endpoint = p.URL
	faultyTbl, err := remote.Open(ctx, faulty, remote.WithClock(now), remote.WithPageSize(10),
		remote.WithRetry(12, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	gotFeed := workload(t, faultyTbl)

	c := p.Counts()
	t.Logf("proxy: %+v", c)
	if c.DroppedEarly == 0 || c.DroppedLate == 0 || c.Delayed == 0 || c.Errors500 == 0 || c.Throttled == 0 {
		t.Errorf("some fault never happened: %+v", c)
	}
	if c.Requests != c.Forwarded+c.Faulted() {
		t.Errorf("counts do not add up: %+v", c)
	}
	if got, want := strings.Join(gotFeed, "\n"), strings.Join(wantFeed, "\n"); got != want {
		t.Errorf("feed through faults:\n%s\nwant:\n%s", got, want)
	}
	// The end state equals the fault-free run's (read without faults).
	p.SetFaults(faultproxy.Faults{})
	got, want := dump(t, faultyTbl), dump(t, cleanTbl)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("end state through faults differs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) != 8+60+5+4 {
		t.Errorf("%d items, want %d", len(want), 8+60+5+4)
	}
}

// TestProxy_ThrottleAnd500AreRetried: every first attempt fails, yet each
// operation succeeds; with no retries it fails with the injected error.
func TestProxy_ThrottleAnd500AreRetried(t *testing.T) {
	srv := dynamotest.Start(t)
	base := dynamotest.CreateTable(t, srv.Config(t))
	for _, tc := range []struct {
		name   string
		faults faultproxy.Faults
		code   string
	}{
		{"throttle", faultproxy.Faults{ThrottleRate: 0.5}, "ThrottlingException"},
		{"500", faultproxy.Faults{Error500Rate: 0.5}, "InternalServerError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := faultproxy.Start(t, srv.Endpoint, tc.faults)
			cfg := remote.Config{Table: base.Name(), Region: "us-east-1", Endpoint: p.URL}
			tbl, err := remote.Open(ctx, cfg, remote.WithRetry(12, 5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				it := remote.Item{PK: "p", SK: fmt.Sprintf("%s%d", tc.name, i), HLC: ts(t0, i), Replica: "r"}
				if applied, _, err := tbl.PutIfNewer(ctx, it); err != nil || !applied {
					t.Fatalf("PutIfNewer through %s: %v %v", tc.name, applied, err)
				}
			}
			if c := p.Counts(); c.Errors500+c.Throttled == 0 {
				t.Fatalf("no fault injected: %+v", c)
			}
			// Without retries, the injected error comes through, typed.
			p.SetFaults(faultproxy.Faults{ThrottleRate: tc.faults.ThrottleRate * 2, Error500Rate: tc.faults.Error500Rate * 2})
			once, err := remote.Open(ctx, cfg, remote.WithRetry(1, 0))
			if err != nil {
				t.Fatal(err)
			}
			_, err = once.Get(ctx, "p", tc.name+"0")
			if err == nil || !strings.Contains(err.Error(), tc.code) {
				t.Fatalf("Get with one attempt = %v, want %s", err, tc.code)
			}
		})
	}
}
