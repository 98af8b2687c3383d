package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/server"
	"github.com/cloudplatform/cloud/server/gqlws"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// fanout is one run of the subscription fan-out benchmark: subscribers
// follow one operation over real WebSocket connections to a real server
// while events are appended to the store.
type fanout struct {
	db     *store.DB
	url    string
	op     *store.Operation
	mu     sync.Mutex
	commit map[int64]time.Time // seq -> when AppendEvent returned
}

func newFanout(b *testing.B) *fanout {
	b.Helper()
	ctx := context.Background()
	a, db := openApp(b)
	if _, err := a.Init(ctx, app.InitRequest{ID: "DBENCH1", Organization: "acme", Project: "shop"}); err != nil {
		b.Fatal(err)
	}
	op := &store.Operation{DeploymentID: "DBENCH1", Environment: "dev", Kind: vocab.KindDeploy, Status: vocab.OpRunning,
		Revision: 1, StartedAt: time.Now()}
	if err := db.BeginOperation(ctx, op); err != nil {
		b.Fatal(err)
	}
	srv := server.New(server.Config{App: a, Logger: slog.New(slog.DiscardHandler),
		// 100 subscribers from one address: the benchmark measures delivery, not the limits.
		Limits: server.Limits{RatePerSecond: -1, MaxWebSockets: -1, MaxSubscriptions: -1}})
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	return &fanout{db: db, url: strings.Replace(hs.URL, "http://", "ws://", 1) + "/graphql", op: op, commit: map[int64]time.Time{}}
}

// subscribe opens n connections with one subscription each; every received
// event's latency (receipt minus commit) goes to lat. They return once
// each has received through seq last.
func (f *fanout) subscribe(b *testing.B, n int, last int64, lat chan<- time.Duration) *sync.WaitGroup {
	b.Helper()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c, err := gqlws.Dial(context.Background(), f.url, gqlws.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		sub, _, err := c.Subscribe(context.Background(), `subscription($op: ID!, $after: Int) {
			operationEvents(operationId: $op, afterSeq: $after) { events { seq } } }`,
			map[string]any{"op": f.op.ID, "after": f.op.LastSeq})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range sub {
				now := time.Now()
				var data struct {
					OperationEvents struct{ Events []struct{ Seq int64 } } `json:"operationEvents"`
				}
				if json.Unmarshal(r.Data, &data) != nil {
					continue
				}
				for _, e := range data.OperationEvents.Events {
					f.mu.Lock()
					t, ok := f.commit[e.Seq]
					f.mu.Unlock()
					if lat != nil {
						// Received before AppendEvent returned: the commit
						// was even closer, count no latency.
						d := time.Duration(0)
						if ok {
							d = max(0, now.Sub(t))
						}
						lat <- d
					}
					if e.Seq >= last {
						return
					}
				}
			}
		}()
	}
	return &wg
}

// publish appends n events, one every interval (0: as fast as possible).
func (f *fanout) publish(b *testing.B, n int, interval time.Duration) {
	ctx := context.Background()
	payload := json.RawMessage(`{"type":"resourcePreEvent","urn":"urn:pulumi:dev::shop::probe:index:Thing::t1"}`)
	tick := time.NewTicker(max(interval, time.Microsecond))
	defer tick.Stop()
	for i := 0; i < n; i++ {
		if interval > 0 {
			<-tick.C
		}
		e := &store.Event{OperationID: f.op.ID, Stack: "app", Kind: vocab.EventEngine, Payload: payload}
		if err := f.db.AppendEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
		f.mu.Lock()
		f.commit[e.Seq] = time.Now()
		f.mu.Unlock()
	}
}

// BenchmarkSubscriptionFanout: 100 subscribers over WebSocket, events
// appended at 1,000/s; reports the latency from store commit to receipt by
// a client (p50, p99, max over every delivery).
func BenchmarkSubscriptionFanout(b *testing.B) {
	const subscribers, events, rate = 100, 2000, 1000
	for i := 0; i < b.N; i++ {
		f := newFanout(b)
		lat := make(chan time.Duration, subscribers*events)
		wg := f.subscribe(b, subscribers, f.op.LastSeq+events, lat)
		f.publish(b, events, time.Second/rate)
		waitOrFail(b, wg, time.Minute)
		close(lat)
		var all []time.Duration
		for d := range lat {
			all = append(all, d)
		}
		if len(all) < subscribers*events {
			b.Fatalf("%d deliveries, want %d", len(all), subscribers*events)
		}
		slices.Sort(all)
		b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
		b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
		b.ReportMetric(ms(all[len(all)-1]), "max-ms")
	}
}

// BenchmarkSubscriptionThroughput: 100 subscribers, events appended as
// fast as the store takes them; reports the sustained rate at which every
// subscriber received every event.
func BenchmarkSubscriptionThroughput(b *testing.B) {
	const subscribers, events = 100, 1000
	for i := 0; i < b.N; i++ {
		f := newFanout(b)
		wg := f.subscribe(b, subscribers, f.op.LastSeq+events, nil)
		start := time.Now()
		f.publish(b, events, 0)
		appended := time.Since(start)
		waitOrFail(b, wg, 5*time.Minute)
		all := time.Since(start)
		b.ReportMetric(float64(events)/appended.Seconds(), "appended-events/s")
		b.ReportMetric(float64(events)/all.Seconds(), "delivered-events/s")
		b.ReportMetric(float64(events*subscribers)/all.Seconds(), "deliveries/s")
	}
}

func waitOrFail(b *testing.B, wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		b.Fatalf("subscribers did not receive every event within %s", d)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
