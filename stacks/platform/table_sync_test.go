package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cloudplatform/cloud/stacks/aws/awstest"
	"github.com/cloudplatform/cloud/store/hlc"
	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
)

// TestTableServesTheSyncEngine creates, in dynalite, the table exactly as
// the platform stack declares it (keys, attributes, the change-feed index,
// billing) — translated from the resource the program registers, not from
// sync/schema — and runs the sync engine's checks and a round trip on it:
// the table passes remote's schema check, a conditional put lands, an
// older version is refused, and the write comes back through the change
// feed.
func TestTableServesTheSyncEngine(t *testing.T) {
	srv := dynamotest.Start(t)
	cfg := srv.Config(t)
	r := awstest.Run(t, Stack, map[string]any{"tableName": cfg.Table})
	decl := r.One(t, "aws:dynamodb/table:Table", "-table").Inputs

	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(str(t, decl, "name")),
		BillingMode: types.BillingMode(str(t, decl, "billingMode")),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(str(t, decl, "hashKey")), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(str(t, decl, "rangeKey")), KeyType: types.KeyTypeRange},
		},
	}
	for _, a := range list(t, decl, "attributes") {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(str(t, a, "name")), AttributeType: types.ScalarAttributeType(str(t, a, "type"))})
	}
	for _, g := range list(t, decl, "globalSecondaryIndexes") {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(str(t, g, "name")),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(str(t, g, "hashKey")), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(str(t, g, "rangeKey")), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionType(str(t, g, "projectionType"))},
		})
	}
	ctx := context.Background()
	tbl, err := remote.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Client().CreateTable(ctx, in); err != nil {
		t.Fatalf("create the table as the platform stack declares it: %v", err)
	}
	if err := tbl.Check(ctx); err != nil {
		t.Fatalf("the sync engine refuses the platform stack's table: %v", err)
	}

	now := time.Now()
	stamp := func(d time.Duration) string { return hlc.Timestamp{Wall: now.Add(d).UnixMilli()}.String() }
	item := remote.Item{PK: "templates", SK: "tmpl#team", Entity: "deployment_templates", Key: json.RawMessage(`["team"]`),
		Version: 2, HLC: stamp(0), Replica: "r1", Payload: json.RawMessage(`{"name":"team","body":"v2"}`), FeedHLC: stamp(0)}
	if applied, _, err := tbl.PutIfNewer(ctx, item); err != nil || !applied {
		t.Fatalf("put: applied %v, %v", applied, err)
	}
	older := item
	older.HLC, older.Version, older.Payload = stamp(-time.Second), 1, json.RawMessage(`{"name":"team","body":"v1"}`)
	if applied, cur, err := tbl.PutIfNewer(ctx, older); err != nil || applied || cur == nil || cur.HLC != item.HLC {
		t.Fatalf("an older version: applied %v, current %+v, %v", applied, cur, err)
	}
	var seen []remote.Item
	if _, err := tbl.Changes(ctx, remote.Cursor(now.Add(-time.Minute)), now.Add(time.Minute), func(it remote.Item) error {
		seen = append(seen, it)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].SK != "tmpl#team" || string(seen[0].Payload) != string(item.Payload) {
		t.Fatalf("the change feed returned %+v", seen)
	}
}

func str(t *testing.T, m map[string]any, k string) string {
	t.Helper()
	s, ok := m[k].(string)
	if !ok || s == "" {
		t.Fatalf("the table's %s is %v", k, m[k])
	}
	return s
}

func list(t *testing.T, m map[string]any, k string) []map[string]any {
	t.Helper()
	raw, ok := m[k].([]any)
	if !ok || len(raw) == 0 {
		t.Fatalf("the table's %s is %v", k, m[k])
	}
	var out []map[string]any
	for _, e := range raw {
		em, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("the table's %s holds %s", k, fmt.Sprint(e))
		}
		out = append(out, em)
	}
	return out
}
