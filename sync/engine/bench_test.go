package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/engine"
	"github.com/cloudplatform/cloud/sync/faultproxy"
	"github.com/cloudplatform/cloud/sync/remote"
)

// benchWrites makes a realistic push: a deployment (manifest rows), 100
// deployment template edits and one operation with 400 events.
func benchWrites(b *testing.B, db *store.DB) int {
	saveManifest(b, db, "D1", "v1", true)
	for i := 0; i < 100; i++ {
		putTemplate(b, db, fmt.Sprintf("t%03d", i), "body")
	}
	if err := runOperation(b, db, "op-bench", "D1", 400, false); err != nil {
		b.Fatal(err)
	}
	n, err := db.PendingOutbox(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkPush compares the engine's push (conditional puts for mutable
// rows, 8 at a time, batches of 25 for events) with a plain loop of
// sequential PutItem calls writing the very same items, against the same
// dynalite: directly, and through a proxy adding 5 ms to every request
// (a network round trip to a region, which dynalite on loopback lacks).
func BenchmarkPush(b *testing.B) {
	srv := dynamotest.Start(b)
	b.Run("loopback", func(b *testing.B) { benchPush(b, srv, srv.Config) })
	b.Run("rtt5ms", func(b *testing.B) {
		p := faultproxy.Start(b, srv.Endpoint, faultproxy.Faults{DelayRate: 1, Delay: 5 * time.Millisecond})
		benchPush(b, srv, func(t testing.TB) remote.Config {
			cfg := srv.Config(t)
			cfg.Endpoint = p.URL
			return cfg
		})
	})
}

func benchPush(b *testing.B, srv *dynamotest.Server, config func(testing.TB) remote.Config) {
	var engineTime, plainTime time.Duration
	var changes, items int
	for i := 0; i < b.N; i++ {
		tbl := dynamotest.CreateTable(b, config(b))
		r := newReplica(b, "a", tbl, time.Now)
		benchWrites(b, r.db)
		n, err := engine.PendingCount(ctx, r.db)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		st, err := r.eng.Push(ctx)
		engineTime += time.Since(start)
		if err != nil || st.Pushed != n {
			b.Fatalf("push: %+v (want %d) %v", st, n, err)
		}
		changes += n

		var all []remote.Item
		if err := tbl.Scan(ctx, func(it remote.Item) error { all = append(all, it); return nil }); err != nil {
			b.Fatal(err)
		}
		plain := dynamotest.CreateTable(b, config(b))
		start = time.Now()
		for _, it := range all {
			av, err := it.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := plain.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(plain.Name()), Item: av}); err != nil {
				b.Fatal(err)
			}
		}
		plainTime += time.Since(start)
		items += len(all)
	}
	b.ReportMetric(float64(changes)/engineTime.Seconds(), "engine-changes/s")
	b.ReportMetric(float64(items)/plainTime.Seconds(), "putitem-changes/s")
}

// BenchmarkVisibility measures the time from a local commit on one
// replica to its visibility on another: a's push plus b's pull.
func BenchmarkVisibility(b *testing.B) {
	srv := dynamotest.Start(b)
	tbl := srv.NewTable(b)
	a := newReplica(b, "a", tbl, time.Now)
	c := newReplica(b, "b", tbl, time.Now)
	saveManifest(b, a.db, "D1", "v1", true)
	syncAll(b, a, c)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		body := fmt.Sprintf("body %d", i)
		putTemplate(b, a.db, "team", body)
		start := time.Now()
		if _, err := a.eng.Push(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := c.eng.Pull(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		tm, err := c.db.DeploymentTemplate(ctx, "team")
		if err != nil || tm.Body != body {
			b.Fatalf("b has %+v %v, want %q", tm, err, body)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-commit-to-visible")
}
