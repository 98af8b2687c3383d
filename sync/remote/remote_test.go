package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cloudplatform/cloud/store/hlc"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
	"github.com/cloudplatform/cloud/sync/schema"
)

var ctx = context.Background()

// ts returns the HLC text of a wall time plus a logical counter.
func ts(t time.Time, logical uint16) string {
	return hlc.Timestamp{Wall: t.UnixMilli(), Logical: logical}.String()
}

var t0 = time.Date(2026, 11, 26, 10, 59, 0, 0, time.UTC)

func item(pk, sk, h, replica, payload string) remote.Item {
	return remote.Item{PK: pk, SK: sk, Entity: "stack_states", Key: json.RawMessage(`["D1","dev","net"]`),
		Version: 1, HLC: h, Replica: replica, Payload: json.RawMessage(payload), FeedHLC: h}
}

func TestItem_MarshalRoundTrip(t *testing.T) {
	it := item("d#D1", "state#dev#net", ts(t0, 3), "r1", `{"status":"deployed"}`)
	it.Deleted = true
	it.ExpiresAt = 1900000000
	it.Extra = map[string]types.AttributeValue{"note": &types.AttributeValueMemberS{Value: "x"}}
	av, err := it.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := av[schema.FeedPartitionKey].(*types.AttributeValueMemberS).Value, "feed#2026-11-26T10"; got != want {
		t.Errorf("fpk = %q, want %q", got, want)
	}
	if got, want := av[schema.FeedSortKey].(*types.AttributeValueMemberS).Value, ts(t0, 3)+"#r1#d#D1#state#dev#net"; got != want {
		t.Errorf("fsk = %q, want %q", got, want)
	}
	back, err := remote.Unmarshal(av)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(back), fmt.Sprint(it); got != want {
		t.Errorf("round trip:\n got %s\nwant %s", got, want)
	}

	for name, bad := range map[string]remote.Item{
		"no sk":         {PK: "a"},
		"bad hlc":       {PK: "a", SK: "b", HLC: "xyz"},
		"bad feed hlc":  {PK: "a", SK: "b", FeedHLC: "nothex"},
		"bad payload":   {PK: "a", SK: "b", Payload: json.RawMessage("{")},
		"replica #":     {PK: "a", SK: "b", Replica: "r#1"},
		"reserved name": {PK: "a", SK: "b", Extra: map[string]types.AttributeValue{"hlc": &types.AttributeValueMemberS{Value: "x"}}},
	} {
		if _, err := bad.Marshal(); err == nil {
			t.Errorf("%s: Marshal accepted %+v", name, bad)
		}
	}
}

func TestTable_CreateTableAndCheck(t *testing.T) {
	srv := dynamotest.Start(t)
	cfg := srv.Config(t)
	tbl, err := remote.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Check(ctx); !errors.Is(err, remote.ErrTableMissing) {
		t.Fatalf("Check before create = %v, want ErrTableMissing", err)
	}
	if err := tbl.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tbl.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable again (idempotent): %v", err)
	}
	if err := tbl.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	// dynalite has no TTL: it reports DISABLED and CreateTable tolerated it.
	if st, _, err := tbl.TTLStatus(ctx); err != nil || st == "" {
		t.Errorf("TTLStatus = %q, %v", st, err)
	}

	// A table with other keys and no feed index is reported, not changed.
	other := srv.Config(t)
	_, err = tbl.Client().CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(other.Table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := remote.Open(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(context.Context) error{wrong.Check, wrong.CreateTable} {
		err := f(ctx)
		var se *remote.SchemaError
		if !errors.As(err, &se) {
			t.Fatalf("got %v, want a *SchemaError", err)
		}
		msg := err.Error()
		for _, want := range []string{"table has 1 key attributes (id HASH), want 2 (pk HASH, sk RANGE)", `no global secondary index "changes"`} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
	}
}

func TestOpen_Errors(t *testing.T) {
	for name, cfg := range map[string]remote.Config{
		"no table":     {Region: "us-east-1"},
		"bad endpoint": {Table: "x", Region: "us-east-1", Endpoint: "ftp://x"},
	} {
		if _, err := remote.Open(ctx, cfg); err == nil {
			t.Errorf("%s: Open accepted %+v", name, cfg)
		}
	}
	// Unreachable: the error names the table and the operation, and comes
	// after a bounded number of attempts.
	srv := dynamotest.Start(t)
	cfg := srv.Config(t)
	srv.Kill()
	tbl, err := remote.Open(ctx, cfg, remote.WithRetry(2, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	err = tbl.Check(ctx)
	var oe *remote.OpError
	if !errors.As(err, &oe) || oe.Table != cfg.Table || oe.Op != "Check" {
		t.Fatalf("Check on a dead endpoint = %v, want an OpError naming Check and %s", err, cfg.Table)
	}
}

func TestTable_PutIfNewer(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	const pk, sk = "d#D1", "state#dev#net"

	put := func(h, replica, payload string) (bool, *remote.Item) {
		t.Helper()
		applied, cur, err := tbl.PutIfNewer(ctx, item(pk, sk, h, replica, payload))
		if err != nil {
			t.Fatal(err)
		}
		return applied, cur
	}
	stored := func() string {
		t.Helper()
		it, err := tbl.Get(ctx, pk, sk)
		if err != nil {
			t.Fatal(err)
		}
		return string(it.Payload)
	}

	if applied, _ := put(ts(t0, 5), "r1", `{"v":1}`); !applied {
		t.Fatal("first put not applied")
	}
	// Older never overwrites newer; the winner comes back.
	applied, cur := put(ts(t0, 4), "r9", `{"v":0}`)
	if applied || cur == nil || string(cur.Payload) != `{"v":1}` || cur.Replica != "r1" {
		t.Fatalf("older put: applied=%v current=%+v, want not applied and the stored item", applied, cur)
	}
	// Equal HLC: the greater replica id wins, the smaller loses.
	if applied, _ := put(ts(t0, 5), "r0", `{"v":"r0"}`); applied {
		t.Error("equal HLC, smaller replica: applied")
	}
	if applied, _ := put(ts(t0, 5), "r2", `{"v":"r2"}`); !applied {
		t.Error("equal HLC, greater replica: not applied")
	}
	if got, want := stored(), `{"v":"r2"}`; got != want {
		t.Errorf("stored %s, want %s", got, want)
	}
	// Retrying the same write (lost answer) counts as applied, changes nothing.
	if applied, _ := put(ts(t0, 5), "r2", `{"v":"r2"}`); !applied {
		t.Error("identical retry: not applied")
	}
	if got, want := stored(), `{"v":"r2"}`; got != want {
		t.Errorf("stored %s, want %s", got, want)
	}
	// Newer wins.
	if applied, _ := put(ts(t0.Add(time.Second), 0), "r1", `{"v":2}`); !applied {
		t.Error("newer put: not applied")
	}
	if got, want := stored(), `{"v":2}`; got != want {
		t.Errorf("stored %s, want %s", got, want)
	}
	// Tombstones are items like any other.
	tomb := item(pk, sk, ts(t0.Add(2*time.Second), 0), "r1", `{}`)
	tomb.Deleted, tomb.ExpiresAt = true, t0.Add(90*24*time.Hour).Unix()
	if applied, _, err := tbl.PutIfNewer(ctx, tomb); err != nil || !applied {
		t.Fatalf("tombstone: %v %v", applied, err)
	}
	if it, err := tbl.Get(ctx, pk, sk); err != nil || !it.Deleted || it.ExpiresAt != tomb.ExpiresAt {
		t.Errorf("Get tombstone = %+v, %v", it, err)
	}
	if _, _, err := tbl.PutIfNewer(ctx, remote.Item{PK: pk, SK: sk}); err == nil {
		t.Error("PutIfNewer without HLC accepted")
	}
	// Get of a missing item; Delete.
	if _, err := tbl.Get(ctx, pk, "nothing"); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Get missing = %v, want ErrNotFound", err)
	}
	if err := tbl.Delete(ctx, pk, sk); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Get(ctx, pk, sk); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
}

func TestTable_AppendOnly(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t, remote.WithPageSize(7))
	ev := func(i int) remote.Item {
		return remote.Item{PK: "d#D1", SK: fmt.Sprintf("ev#OP1#%08d", i), Entity: "events",
			HLC: ts(t0, uint16(i)), Replica: "r1", Payload: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, i)), FeedHLC: ts(t0, uint16(i))}
	}
	if applied, err := tbl.PutIfAbsent(ctx, ev(0)); err != nil || !applied {
		t.Fatalf("PutIfAbsent = %v, %v", applied, err)
	}
	changed := ev(0)
	changed.Payload = json.RawMessage(`{"seq":"changed"}`)
	if applied, err := tbl.PutIfAbsent(ctx, changed); err != nil || applied {
		t.Fatalf("PutIfAbsent over an existing item = %v, %v; want not applied", applied, err)
	}

	// 60 events (3 batches), one duplicated, and a second run (retry).
	var items []remote.Item
	for i := 1; i <= 60; i++ {
		items = append(items, ev(i))
	}
	items = append(items, ev(7))
	for range 2 {
		if err := tbl.PutAppendOnly(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
	// Paginated (page size 7), in order, prefix-filtered.
	var got []string
	err := tbl.QueryPartition(ctx, "d#D1", "ev#OP1#", func(it remote.Item) error {
		got = append(got, string(it.Payload))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 61 || got[0] != `{"seq":0}` || got[60] != `{"seq":60}` {
		t.Fatalf("QueryPartition: %d items, first %v last %v", len(got), got[:1], got[len(got)-1:])
	}
	for i, p := range got {
		if want := fmt.Sprintf(`{"seq":%d}`, i); p != want {
			t.Fatalf("item %d = %s, want %s", i, p, want)
		}
	}
	// fn's error stops the walk and comes back as is.
	stop := errors.New("stop")
	if err := tbl.QueryPartition(ctx, "d#D1", "", func(remote.Item) error { return stop }); err != stop {
		t.Errorf("QueryPartition error = %v, want fn's", err)
	}
	n := 0
	if err := tbl.Scan(ctx, func(remote.Item) error { n++; return nil }); err != nil || n != 61 {
		t.Errorf("Scan: %d items, %v; want 61", n, err)
	}
}

// TestTable_PaginationBySize fills one partition with more than 1 MB, so
// DynamoDB's own page limit (not a Limit) splits the reads.
func TestTable_PaginationBySize(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	big := `"` + strings.Repeat("x", 100<<10) + `"`
	var items []remote.Item
	for i := range 14 { // 14 × 100 KB
		items = append(items, remote.Item{PK: "p", SK: fmt.Sprintf("i%02d", i), Payload: json.RawMessage(big)})
	}
	if err := tbl.PutAppendOnly(ctx, items[:7]); err != nil {
		t.Fatal(err)
	}
	if err := tbl.PutAppendOnly(ctx, items[7:]); err != nil {
		t.Fatal(err)
	}
	pages := 0
	out, err := tbl.Client().Query(ctx, &dynamodb.QueryInput{TableName: aws.String(tbl.Name()),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": "pk"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "p"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LastEvaluatedKey) != 0 {
		pages++
	}
	if pages == 0 {
		t.Fatalf("one page held all %d items: the test does not exercise pagination", len(out.Items))
	}
	n := 0
	if err := tbl.QueryPartition(ctx, "p", "", func(remote.Item) error { n++; return nil }); err != nil || n != 14 {
		t.Errorf("QueryPartition: %d items, %v; want 14", n, err)
	}
	n = 0
	if err := tbl.Scan(ctx, func(remote.Item) error { n++; return nil }); err != nil || n != 14 {
		t.Errorf("Scan: %d items, %v; want 14", n, err)
	}
}

// TestTable_PutIfNewerConcurrent: replicas pushing the versions of one
// record at once, in any order, leave the greatest (HLC, replica).
func TestTable_PutIfNewerConcurrent(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	done := make(chan error)
	const replicas, versions = 4, 10
	for r := range replicas {
		go func() {
			for v := versions - 1; v >= 0; v-- { // newest first: most are refused
				it := item("d#D1", "env#dev", ts(t0, uint16(v)), fmt.Sprintf("r%d", r), fmt.Sprintf(`{"v":%d,"r":%d}`, v, r))
				if _, _, err := tbl.PutIfNewer(ctx, it); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range replicas {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	got, err := tbl.Get(ctx, "d#D1", "env#dev")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`{"v":%d,"r":%d}`, versions-1, replicas-1); string(got.Payload) != want {
		t.Errorf("winner %s, want %s", got.Payload, want)
	}
}

// TestOpen_NoCredentials: a loopback endpoint works on a machine without
// AWS credentials.
func TestOpen_NoCredentials(t *testing.T) {
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	srv := dynamotest.Start(t)
	tbl, err := remote.Open(ctx, srv.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
}
