package remote

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cloudplatform/cloud/sync/schema"
)

// SchemaError lists how an existing table differs from sync/schema.
type SchemaError struct {
	Table    string
	Problems []string
}

// Error lists the problems, one per line.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("table %q does not match the sync schema:\n  - %s", e.Table, strings.Join(e.Problems, "\n  - "))
}

// CreateTable creates the table as sync/schema describes it — keys pk/sk,
// the change-feed index on fpk/fsk projecting every attribute, on-demand
// billing — waits until it and its index are ACTIVE, and turns on TTL on
// the expiresAt attribute.
//
// It is idempotent: when the table exists already it is checked instead,
// and a table that does not match is reported with a *SchemaError listing
// the differences (it is never changed or deleted).
//
// TTL: a server without UpdateTimeToLive (dynalite answers
// UnknownOperationException) is tolerated: items then simply never expire,
// which only costs storage. On AWS, TTL already enabled on another
// attribute is an error.
//
// Production tables come from the platform stack; this is for development
// and tests.
func (t *Table) CreateTable(ctx context.Context) error {
	const op = "CreateTable"
	_, err := t.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
	switch {
	case err == nil:
	case errorCode(err) == "ResourceNotFoundException":
		_, err = t.db.CreateTable(ctx, createTableInput(t.name))
		if err != nil && errorCode(err) != "ResourceInUseException" { // ResourceInUse: created meanwhile
			return t.wrap(op, err)
		}
	default:
		return t.wrap(op, err)
	}
	if err := t.waitActive(ctx); err != nil {
		return t.wrap(op, err)
	}
	if err := t.Check(ctx); err != nil {
		return err
	}
	if err := t.enableTTL(ctx); err != nil {
		return t.wrap(op, err)
	}
	return nil
}

func createTableInput(name string) *dynamodb.CreateTableInput {
	keySchema := func(keys []schema.Key) []types.KeySchemaElement {
		var out []types.KeySchemaElement
		for _, k := range keys {
			kt := types.KeyTypeRange
			if k.Hash {
				kt = types.KeyTypeHash
			}
			out = append(out, types.KeySchemaElement{AttributeName: aws.String(k.Name), KeyType: kt})
		}
		return out
	}
	var defs []types.AttributeDefinition
	for _, k := range append(append([]schema.Key{}, schema.TableKeys...), schema.FeedKeys...) {
		defs = append(defs, types.AttributeDefinition{AttributeName: aws.String(k.Name), AttributeType: types.ScalarAttributeType(schema.KeyType)})
	}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: defs,
		KeySchema:            keySchema(schema.TableKeys),
		BillingMode:          types.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(schema.ChangeFeedIndex),
			KeySchema:  keySchema(schema.FeedKeys),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	}
}

// waitActive polls until the table and its indexes are ACTIVE, with a
// growing delay, until ctx ends or 5 minutes pass.
func (t *Table) waitActive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		out, err := t.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
		if err != nil {
			return fmt.Errorf("wait until active: %w", err)
		}
		active := out.Table.TableStatus == types.TableStatusActive
		for _, g := range out.Table.GlobalSecondaryIndexes {
			active = active && g.IndexStatus == types.IndexStatusActive
		}
		if active {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait until active (status %s): %w", out.Table.TableStatus, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

func (t *Table) enableTTL(ctx context.Context) error {
	desc, err := t.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.name)})
	if err != nil && errorCode(err) != "UnknownOperationException" {
		return fmt.Errorf("describe TTL: %w", err)
	}
	if err == nil && desc.TimeToLiveDescription != nil {
		d := desc.TimeToLiveDescription
		switch d.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if a := aws.ToString(d.AttributeName); a != schema.TTLAttribute {
				return fmt.Errorf("TTL is enabled on attribute %q, want %q", a, schema.TTLAttribute)
			}
			return nil
		}
	}
	_, err = t.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(t.name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(schema.TTLAttribute), Enabled: aws.Bool(true)},
	})
	if errorCode(err) == "UnknownOperationException" {
		return nil // dynalite: no TTL; items just never expire
	}
	if err != nil {
		return fmt.Errorf("enable TTL on %q: %w", schema.TTLAttribute, err)
	}
	return nil
}

// TTLStatus returns the table's TTL status (ENABLED, DISABLED, …) and
// attribute as DynamoDB reports them. dynalite always reports DISABLED: it
// has no TTL.
func (t *Table) TTLStatus(ctx context.Context) (status, attribute string, err error) {
	out, err := t.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.name)})
	if err != nil {
		return "", "", t.wrap("DescribeTimeToLive", err)
	}
	if out.TimeToLiveDescription == nil {
		return string(types.TimeToLiveStatusDisabled), "", nil
	}
	return string(out.TimeToLiveDescription.TimeToLiveStatus), aws.ToString(out.TimeToLiveDescription.AttributeName), nil
}

// Check verifies that the table exists and matches sync/schema: its keys
// and their types, the change-feed index with its keys and an ALL
// projection. It returns an error wrapping ErrTableMissing when there is
// no table, a *SchemaError listing every difference when it does not
// match, and the cause (unreachable endpoint, no credentials, …) when it
// cannot tell. TTL is not checked (see TTLStatus): a table without TTL
// still works, it only keeps expired items.
func (t *Table) Check(ctx context.Context) error {
	out, err := t.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
	if err != nil {
		return t.wrap("Check", err)
	}
	if p := schemaProblems(out.Table); len(p) > 0 {
		return &SchemaError{Table: t.name, Problems: p}
	}
	return nil
}

func schemaProblems(d *types.TableDescription) []string {
	var problems []string
	types_ := map[string]types.ScalarAttributeType{}
	for _, a := range d.AttributeDefinitions {
		types_[aws.ToString(a.AttributeName)] = a.AttributeType
	}
	checkKeys := func(what string, got []types.KeySchemaElement, want []schema.Key) {
		if len(got) != len(want) {
			problems = append(problems, fmt.Sprintf("%s has %d key attributes (%s), want %d (%s)",
				what, len(got), describeKeys(got), len(want), describeSchemaKeys(want)))
			return
		}
		for i, w := range want {
			g := got[i]
			wantType := types.KeyTypeRange
			if w.Hash {
				wantType = types.KeyTypeHash
			}
			// DynamoDB lists the hash key first.
			if aws.ToString(g.AttributeName) != w.Name || g.KeyType != wantType {
				problems = append(problems, fmt.Sprintf("%s key is %s, want %s", what, describeKeys(got), describeSchemaKeys(want)))
				return
			}
			if at := types_[w.Name]; at != types.ScalarAttributeType(schema.KeyType) {
				problems = append(problems, fmt.Sprintf("%s key attribute %q has type %s, want %s", what, w.Name, at, schema.KeyType))
			}
		}
	}
	checkKeys("table", d.KeySchema, schema.TableKeys)

	var feed *types.GlobalSecondaryIndexDescription
	for i, g := range d.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) == schema.ChangeFeedIndex {
			feed = &d.GlobalSecondaryIndexes[i]
		}
	}
	if feed == nil {
		return append(problems, fmt.Sprintf("no global secondary index %q (the change feed, keys %s)", schema.ChangeFeedIndex, describeSchemaKeys(schema.FeedKeys)))
	}
	checkKeys(fmt.Sprintf("index %q", schema.ChangeFeedIndex), feed.KeySchema, schema.FeedKeys)
	if feed.Projection == nil || feed.Projection.ProjectionType != types.ProjectionTypeAll {
		pt := "none"
		if feed.Projection != nil {
			pt = string(feed.Projection.ProjectionType)
		}
		problems = append(problems, fmt.Sprintf("index %q projects %s, want ALL", schema.ChangeFeedIndex, pt))
	}
	return problems
}

func describeKeys(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return strings.Join(parts, ", ")
}

func describeSchemaKeys(ks []schema.Key) string {
	var parts []string
	for _, k := range ks {
		kt := "RANGE"
		if k.Hash {
			kt = "HASH"
		}
		parts = append(parts, k.Name+" "+kt)
	}
	return strings.Join(parts, ", ")
}

// DeleteTable deletes the table and everything in it. For tests and
// development only; it returns an error wrapping ErrTableMissing when
// there is no table.
func (t *Table) DeleteTable(ctx context.Context) error {
	_, err := t.db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(t.name)})
	return t.wrap("DeleteTable", err)
}
