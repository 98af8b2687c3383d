package feed_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/store/feed"
)

const fanoutSubscribers = 100

// BenchmarkFanout measures 100 subscribers following one deployment's
// stream while one publisher appends events through the store.
//
//   - rate=1000/s: the publisher appends one event per millisecond (one
//     per iteration). Reported: the latency from AppendEvent's return to
//     each subscriber's receipt, p50 and p99 over every (event,
//     subscriber) pair, in ms. A subscriber may receive an event before
//     AppendEvent has returned to the publisher; that counts as 0.
//   - max: the publisher appends as fast as it can (one event per
//     iteration). Reported: events/s sustained (appended and received by
//     every subscriber, first append to last receipt), deliveries/s, and
//     the same latencies.
func BenchmarkFanout(b *testing.B) {
	b.Run("rate=1000/s", func(b *testing.B) { benchFanout(b, time.Millisecond) })
	b.Run("max", func(b *testing.B) { benchFanout(b, 0) })
}

type receipt struct {
	gseq int64
	at   time.Time
}

func benchFanout(b *testing.B, every time.Duration) {
	ctx := context.Background()
	db, _ := openStore(b)
	op := beginOp(b, db, "dev")
	h := newHub(b, db, feed.Options{})
	f := store.EventFilter{DeploymentID: depID}
	after, err := db.LastGlobalSeq(ctx)
	if err != nil {
		b.Fatal(err)
	}

	// Each subscriber records when it received each event, until the
	// "stop" event. Timing starts once every subscriber has received a
	// first event: all have caught up and follow the live window.
	results := make(chan []receipt, fanoutSubscribers)
	var ready sync.WaitGroup
	ready.Add(fanoutSubscribers)
	for range fanoutSubscribers {
		ch := subscribe(b, h, f, after)
		go func() {
			if it := <-ch; len(it.Events) != 1 || it.Events[0].Kind != "warmup" {
				b.Errorf("first item %+v, want the warm-up event", it)
			}
			ready.Done()
			var got []receipt
		recv:
			for it := range ch {
				if it.Overflow != nil {
					break // the count check below fails
				}
				now := time.Now()
				for _, e := range it.Events {
					got = append(got, receipt{e.GlobalSeq, now})
					if e.Kind == "stop" {
						break recv
					}
				}
			}
			results <- got
		}()
	}

	if err := db.AppendEvent(ctx, &store.Event{OperationID: op.ID, Kind: "warmup"}); err != nil {
		b.Fatal(err)
	}
	ready.Wait()

	payload := json.RawMessage(`{"type":"resource","urn":"urn:pulumi:dev::shop::aws:ec2/vpc:Vpc::main","op":"create"}`)
	var returned []receipt
	start := time.Now()
	next := start
	for b.Loop() {
		if every > 0 {
			next = next.Add(every)
			time.Sleep(time.Until(next))
		}
		e := &store.Event{OperationID: op.ID, Stack: "network", Kind: "engine.resource", Payload: payload}
		if err := db.AppendEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
		returned = append(returned, receipt{e.GlobalSeq, time.Now()})
	}
	b.StopTimer()
	stop := &store.Event{OperationID: op.ID, Kind: "stop"}
	if err := db.AppendEvent(ctx, stop); err != nil {
		b.Fatal(err)
	}

	sent := map[int64]time.Time{}
	for _, r := range returned {
		sent[r.gseq] = r.at
	}
	var lat []time.Duration
	var last time.Time
	for range fanoutSubscribers {
		got := <-results
		if len(got) != len(returned)+1 {
			b.Fatalf("a subscriber received %d events, want %d", len(got), len(returned)+1)
		}
		for i, r := range got[:len(returned)] {
			if r.gseq != returned[i].gseq {
				b.Fatalf("a subscriber's event %d has global seq %d, want %d", i, r.gseq, returned[i].gseq)
			}
			lat = append(lat, max(0, r.at.Sub(sent[r.gseq])))
			if r.at.After(last) {
				last = r.at
			}
		}
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	if every == 0 {
		secs := last.Sub(start).Seconds()
		b.ReportMetric(float64(len(returned))/secs, "events/s")
		b.ReportMetric(float64(len(returned)*fanoutSubscribers)/secs, "deliveries/s")
	}
	if st := h.Stats(); st.Overflows != 0 {
		b.Fatalf("%d subscribers overflowed", st.Overflows)
	}
}
