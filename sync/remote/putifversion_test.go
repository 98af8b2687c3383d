package remote_test

import (
	"testing"

	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
)

func TestTable_PutIfVersion(t *testing.T) {
	srv := dynamotest.Start(t)
	tbl := srv.NewTable(t)
	item := func(logical uint16, replica string) remote.Item {
		return remote.Item{PK: "p", SK: "s", Entity: "deployment_templates", Key: []byte(`["x"]`), HLC: ts(t0, logical),
			Replica: replica, Payload: []byte(`{}`)}
	}
	// Expecting none: applies on an empty key.
	if ok, cur, err := tbl.PutIfVersion(ctx, item(1, "a"), ""); !ok || cur != nil || err != nil {
		t.Fatalf("first put: %v %v %v", ok, cur, err)
	}
	// The same write again (a retry) applies whatever is expected.
	if ok, _, err := tbl.PutIfVersion(ctx, item(1, "a"), ""); !ok || err != nil {
		t.Fatalf("retry: %v %v", ok, err)
	}
	// Expecting none, or a version that is not there: refused, with the
	// stored item.
	for _, expect := range []string{"", ts(t0, 7)} {
		ok, cur, err := tbl.PutIfVersion(ctx, item(2, "b"), expect)
		if ok || err != nil || cur == nil || cur.HLC != ts(t0, 1) || cur.Replica != "a" {
			t.Fatalf("expecting %q: %v %+v %v", expect, ok, cur, err)
		}
	}
	// Expecting the stored version: applies.
	if ok, _, err := tbl.PutIfVersion(ctx, item(2, "b"), ts(t0, 1)); !ok || err != nil {
		t.Fatalf("over the expected version: %v %v", ok, err)
	}
	if it, err := tbl.Get(ctx, "p", "s"); err != nil || it.HLC != ts(t0, 2) || it.Replica != "b" {
		t.Errorf("stored: %+v %v", it, err)
	}
}
