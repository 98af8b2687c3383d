package remote_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
)

func TestTable_Changes(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t, remote.WithPageSize(2))

	// Writes pushed in two hour buckets: 10:59 and 11:00–11:01.
	push := func(sk string, written, pushed time.Time, logical uint16) remote.Item {
		it := item("d#D1", sk, ts(written, 0), "r1", fmt.Sprintf(`{"sk":%q}`, sk))
		it.FeedHLC = ts(pushed, logical)
		if applied, _, err := tbl.PutIfNewer(ctx, it); err != nil || !applied {
			t.Fatalf("push %s: %v %v", sk, applied, err)
		}
		return it
	}
	for i := range 3 {
		push(fmt.Sprintf("a%d", i), t0, t0, uint16(i))
	}
	for i := range 4 {
		push(fmt.Sprintf("b%d", i), t0.Add(time.Minute), t0.Add(time.Minute), uint16(i))
	}
	// Not in the feed: an item without FeedHLC (e.g. a lease).
	if _, err := tbl.AcquireLease(ctx, "D1#dev", "alice", "", time.Hour); err != nil {
		t.Fatal(err)
	}

	read := func(since string, until time.Time) ([]string, string) {
		t.Helper()
		var got []string
		last, err := tbl.Changes(ctx, since, until, func(it remote.Item) error {
			got = append(got, it.SK)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, last
	}

	got, cursor := read(remote.Cursor(t0.Add(-time.Hour)), t0.Add(2*time.Minute))
	if want := "[a0 a1 a2 b0 b1 b2 b3]"; fmt.Sprint(got) != want {
		t.Fatalf("Changes = %v, want %s", got, want)
	}
	if want := ts(t0.Add(time.Minute), 3) + "#r1#d#D1#b3"; cursor != want {
		t.Errorf("cursor = %q, want %q", cursor, want)
	}
	// From the cursor: nothing new.
	if got, last := read(cursor, t0.Add(2*time.Minute)); len(got) != 0 || last != cursor {
		t.Errorf("Changes after the cursor = %v, %q", got, last)
	}
	// until bounds the buckets read: only the 10:00 bucket.
	if got, _ := read(remote.Cursor(t0.Add(-time.Hour)), t0); fmt.Sprint(got) != "[a0 a1 a2]" {
		t.Errorf("Changes until 10:59 = %v", got)
	}

	// A write made offline at 09:00 and pushed late (11:30) lands after the
	// cursor, though its own HLC is long before it.
	push("late", t0.Add(-2*time.Hour), t0.Add(31*time.Minute), 0)
	got, cursor2 := read(cursor, t0.Add(time.Hour))
	if fmt.Sprint(got) != "[late]" || cursor2 <= cursor {
		t.Errorf("Changes after a late push = %v (cursor %q)", got, cursor2)
	}

	// The overlap window: rewinding the cursor reads the last items again,
	// which the caller applies idempotently.
	back, err := remote.Rewind(cursor2, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := read(back, t0.Add(time.Hour)); fmt.Sprint(got) != "[b0 b1 b2 b3 late]" {
		t.Errorf("Changes from the rewound cursor = %v", got)
	}

	// fn's error stops the read; the cursor is that of the last accepted item.
	stop := errors.New("stop")
	n := 0
	last, err := tbl.Changes(ctx, remote.Cursor(t0.Add(-time.Hour)), t0.Add(time.Hour), func(it remote.Item) error {
		if n == 2 {
			return stop
		}
		n++
		return nil
	})
	if err != stop || last != ts(t0, 1)+"#r1#d#D1#a1" {
		t.Errorf("Changes with failing fn = %q, %v", last, err)
	}
	if _, err := tbl.Changes(ctx, "bogus", t0, func(remote.Item) error { return nil }); err == nil {
		t.Error("Changes accepted a bad cursor")
	}
}
