package remote

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cloudplatform/cloud/sync/schema"
)

// PutIfNewer writes a mutable record unless the table holds a newer
// version of it. It applies when the item is absent, or when the stored
// (HLC, Replica) is lower than the new item's: HLCs compare as text (they
// are fixed-width hex), an equal HLC is decided by the replica id. The
// new item must have an HLC.
//
// An item with the same (HLC, Replica) is the same write — a retry of a
// push whose answer was lost — so it is overwritten with itself and counts
// as applied; retrying a push changes nothing but possibly its place in
// the change feed (FeedHLC), which pullers apply idempotently.
//
// When not applied, current is the stored item that won (for the conflicts
// table). DynamoDB returns it with the failed condition
// (ReturnValuesOnConditionCheckFailure); dynalite does not, and then it is
// read with a consistent GetItem.
func (t *Table) PutIfNewer(ctx context.Context, it Item) (applied bool, current *Item, err error) {
	const op = "PutIfNewer"
	if it.HLC == "" || it.Replica == "" {
		return false, nil, t.wrap(op, fmt.Errorf("item %s/%s: need an HLC and a replica", it.PK, it.SK))
	}
	av, err := it.Marshal()
	if err != nil {
		return false, nil, t.wrap(op, err)
	}
	in := &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item:      av,
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR #hlc < :hlc OR " +
			"(#hlc = :hlc AND #replica <= :replica)"),
		ExpressionAttributeNames: map[string]string{"#pk": schema.PartitionKey, "#hlc": AttrHLC, "#replica": AttrReplica},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":hlc":     &types.AttributeValueMemberS{Value: it.HLC},
			":replica": &types.AttributeValueMemberS{Value: it.Replica},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	// The item read back after a failed condition may be gone by then
	// (deleted meanwhile); the put is then tried again.
	for range 3 {
		_, err = t.db.PutItem(ctx, in)
		if err == nil {
			return true, nil, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return false, nil, t.wrap(op, err)
		}
		if ccf.Item != nil {
			cur, err := Unmarshal(ccf.Item)
			if err != nil {
				return false, nil, t.wrap(op, err)
			}
			return false, &cur, nil
		}
		cur, err := t.Get(ctx, it.PK, it.SK)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return false, nil, t.wrap(op, err)
		}
		return false, &cur, nil
	}
	return false, nil, t.wrap(op, errors.New("the item kept changing; try again"))
}

// PutIfAbsent writes an append-only item (an event, a finished operation)
// unless an item with its key exists. applied is false when one exists:
// append-only items never change once written, so an existing one is this
// same item written before (perhaps by a retry whose answer was lost).
func (t *Table) PutIfAbsent(ctx context.Context, it Item) (applied bool, err error) {
	const op = "PutIfAbsent"
	av, err := it.Marshal()
	if err != nil {
		return false, t.wrap(op, err)
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(t.name),
		Item:                     av,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": schema.PartitionKey},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, t.wrap(op, err)
	}
	return true, nil
}

// batchSize is BatchWriteItem's limit of items per call.
const batchSize = 25

// PutAppendOnly writes append-only items in batches of 25
// (BatchWriteItem), unconditionally: BatchWriteItem takes no conditions,
// and none is needed because an append-only item never changes once
// written — overwriting it with the identical content is a no-op, so a
// retried batch is harmless. Never use it for mutable records (PutIfNewer
// is for those). Items with the same key in one call are written once.
//
// Items DynamoDB leaves unprocessed (throttling) are retried with
// exponential backoff and jitter until ctx ends or 10 rounds pass.
func (t *Table) PutAppendOnly(ctx context.Context, items []Item) error {
	const op = "PutAppendOnly"
	seen := map[[2]string]bool{}
	var reqs []types.WriteRequest
	for _, it := range items {
		k := [2]string{it.PK, it.SK}
		if seen[k] {
			continue // DynamoDB refuses a batch with the same key twice
		}
		seen[k] = true
		av, err := it.Marshal()
		if err != nil {
			return t.wrap(op, err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
	}
	for len(reqs) > 0 {
		n := min(batchSize, len(reqs))
		if err := t.writeBatch(ctx, reqs[:n]); err != nil {
			return t.wrap(op, err)
		}
		reqs = reqs[n:]
	}
	return nil
}

func (t *Table) writeBatch(ctx context.Context, reqs []types.WriteRequest) error {
	const rounds = 10
	for round := 0; ; round++ {
		out, err := t.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{t.name: reqs},
		})
		if err != nil {
			return err
		}
		reqs = out.UnprocessedItems[t.name]
		if len(reqs) == 0 {
			return nil
		}
		if round == rounds-1 {
			return fmt.Errorf("%d items still unprocessed after %d rounds", len(reqs), rounds)
		}
		d := rand.N(min(baseBackoff<<round, 5*time.Second))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// Get reads one item with a strongly consistent read. It returns an error
// wrapping ErrNotFound when there is none.
func (t *Table) Get(ctx context.Context, pk, sk string) (Item, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            keyOf(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Item{}, t.wrap("Get", err)
	}
	if out.Item == nil {
		return Item{}, t.wrap("Get", fmt.Errorf("item %s/%s: %w", pk, sk, ErrNotFound))
	}
	it, err := Unmarshal(out.Item)
	return it, t.wrap("Get", err)
}

// Delete removes one item, unconditionally; deleting an absent item is not
// an error. The sync engine deletes rows with tombstones (Item.Deleted),
// never with Delete, so the deletion reaches every replica; this is for
// administration and tests.
func (t *Table) Delete(ctx context.Context, pk, sk string) error {
	_, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.name), Key: keyOf(pk, sk)})
	return t.wrap("Delete", err)
}

// QueryPartition calls fn with every item of partition pk whose sort key
// starts with skPrefix (all of them when skPrefix is empty), in sort-key
// order, reading page after page with strongly consistent reads. An error
// from fn stops the walk and is returned as is.
func (t *Table) QueryPartition(ctx context.Context, pk, skPrefix string, fn func(Item) error) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(t.name),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": schema.PartitionKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true),
	}
	if skPrefix != "" {
		in.KeyConditionExpression = aws.String("#pk = :pk AND begins_with(#sk, :prefix)")
		in.ExpressionAttributeNames["#sk"] = schema.SortKey
		in.ExpressionAttributeValues[":prefix"] = &types.AttributeValueMemberS{Value: skPrefix}
	}
	return t.query("QueryPartition", ctx, in, fn)
}

// query runs a Query page by page; fn's errors are returned unwrapped.
func (t *Table) query(op string, ctx context.Context, in *dynamodb.QueryInput, fn func(Item) error) error {
	if t.pageSize > 0 {
		in.Limit = aws.Int32(t.pageSize)
	}
	for {
		out, err := t.db.Query(ctx, in)
		if err != nil {
			return t.wrap(op, err)
		}
		for _, m := range out.Items {
			it, err := Unmarshal(m)
			if err != nil {
				return t.wrap(op, err)
			}
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Scan calls fn with every item of the table, in no particular order,
// page after page with strongly consistent reads: the full reconciliation
// that catches whatever the change feed missed. It reads (and is billed
// for) the whole table. An error from fn stops the walk and is returned as
// is.
func (t *Table) Scan(ctx context.Context, fn func(Item) error) error {
	in := &dynamodb.ScanInput{TableName: aws.String(t.name), ConsistentRead: aws.Bool(true)}
	if t.pageSize > 0 {
		in.Limit = aws.Int32(t.pageSize)
	}
	for {
		out, err := t.db.Scan(ctx, in)
		if err != nil {
			return t.wrap("Scan", err)
		}
		for _, m := range out.Items {
			it, err := Unmarshal(m)
			if err != nil {
				return t.wrap("Scan", err)
			}
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// PutIfVersion writes a mutable record only over the version the caller
// expects: the stored item's HLC is expectHLC ("" expects no item), or the
// stored item is this very write (same HLC and replica: a retry whose
// answer was lost). When refused, current is the stored item (nil when it
// vanished meanwhile).
//
// It is a compare-and-swap: a caller that must know which version its
// write replaces — the sync engine, which records a version it overwrote
// without having seen it as a conflict — cannot learn it from the write's
// answer (ReturnValues), because when that answer is lost and the SDK
// retries, the retry reports the write itself as the replaced item and the
// real one is gone unseen. With the expected version in the condition, a
// write can only ever replace a version the caller has already looked at.
// The caller is responsible for last-writer-wins: it must only expect a
// version older than the new item.
func (t *Table) PutIfVersion(ctx context.Context, it Item, expectHLC string) (applied bool, current *Item, err error) {
	const op = "PutIfVersion"
	if it.HLC == "" || it.Replica == "" {
		return false, nil, t.wrap(op, fmt.Errorf("item %s/%s: need an HLC and a replica", it.PK, it.SK))
	}
	av, err := it.Marshal()
	if err != nil {
		return false, nil, t.wrap(op, err)
	}
	cond := "(#hlc = :hlc AND #replica = :replica)"
	vals := map[string]types.AttributeValue{
		":hlc":     &types.AttributeValueMemberS{Value: it.HLC},
		":replica": &types.AttributeValueMemberS{Value: it.Replica},
	}
	names := map[string]string{"#hlc": AttrHLC, "#replica": AttrReplica}
	if expectHLC == "" {
		cond = "attribute_not_exists(#pk) OR " + cond
		names["#pk"] = schema.PartitionKey
	} else {
		cond = "#hlc = :expect OR " + cond
		vals[":expect"] = &types.AttributeValueMemberS{Value: expectHLC}
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(t.name),
		Item:                                av,
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           vals,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return true, nil, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, nil, t.wrap(op, err)
	}
	if ccf.Item != nil {
		cur, err := Unmarshal(ccf.Item)
		if err != nil {
			return false, nil, t.wrap(op, err)
		}
		return false, &cur, nil
	}
	cur, err := t.Get(ctx, it.PK, it.SK)
	if errors.Is(err, ErrNotFound) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	return false, &cur, nil
}
