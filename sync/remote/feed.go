package remote

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cloudplatform/cloud/store/hlc"
	"github.com/cloudplatform/cloud/sync/schema"
)

// Changes reads the change feed: every item pushed with a feed position
// (fsk) greater than since, up to the hour bucket of until, calling fn in
// feed order (push HLC, then replica, pk, sk). It returns the largest fsk
// seen (since itself when nothing was read), the cursor for the next call.
// An error from fn stops the read and is returned as is, with the cursor
// of the last item fn accepted.
//
// since is a cursor: an fsk returned before, or an HLC string (see
// Cursor); it must start with a 20-digit HLC, which picks the first hour
// bucket. Each hour bucket from since's to until's (UTC) is one Query on
// the index, paginated; a replica offline for long reads many empty
// buckets, so after a long absence a full reconciliation (Scan) is cheaper.
//
// The overlap-window contract: the index is eventually consistent, and
// pushes from other machines carry their own clocks' push times, so an
// item can become visible in the feed with a position below a cursor
// already returned. Callers therefore do not pass the cursor as is but
// the cursor minus a window (Rewind(cursor, window); a few minutes covers
// index lag and ordinary clock skew), and must apply what they read
// idempotently: items seen before come again. Whatever is later than the
// window is still caught by the periodic full reconciliation.
func (t *Table) Changes(ctx context.Context, since string, until time.Time, fn func(Item) error) (last string, err error) {
	const op = "Changes"
	if len(since) < 20 {
		return since, t.wrap(op, fmt.Errorf("cursor %q does not start with an HLC", since))
	}
	from, err := hlc.Parse(since[:20])
	if err != nil {
		return since, t.wrap(op, fmt.Errorf("cursor: %w", err))
	}
	last = since
	bucket := from.Time().Truncate(time.Hour)
	end := until.UTC().Truncate(time.Hour)
	for ; !bucket.After(end); bucket = bucket.Add(time.Hour) {
		in := &dynamodb.QueryInput{
			TableName:                aws.String(t.name),
			IndexName:                aws.String(schema.ChangeFeedIndex),
			KeyConditionExpression:   aws.String("#fpk = :fpk AND #fsk > :since"),
			ExpressionAttributeNames: map[string]string{"#fpk": schema.FeedPartitionKey, "#fsk": schema.FeedSortKey},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":fpk":   &types.AttributeValueMemberS{Value: FeedBucket(hlc.Timestamp{Wall: bucket.UnixMilli()})},
				":since": &types.AttributeValueMemberS{Value: since},
			},
			ScanIndexForward: aws.Bool(true),
		}
		err := t.query(op, ctx, in, func(it Item) error {
			if err := fn(it); err != nil {
				return err
			}
			if fsk := it.FeedSK(); fsk > last {
				last = fsk
			}
			return nil
		})
		if err != nil {
			return last, err
		}
	}
	return last, nil
}

// Cursor returns the feed cursor of a wall-clock time: every item pushed
// at or after t is after it.
func Cursor(t time.Time) string { return hlc.Timestamp{Wall: t.UnixMilli()}.String() }

// Rewind returns cursor moved back by d (the overlap window), as an HLC
// string; see Changes.
func Rewind(cursor string, d time.Duration) (string, error) {
	if len(cursor) < 20 {
		return "", fmt.Errorf("cursor %q does not start with an HLC", cursor)
	}
	ts, err := hlc.Parse(cursor[:20])
	if err != nil {
		return "", fmt.Errorf("cursor: %w", err)
	}
	w := ts.Wall - d.Milliseconds()
	if w < 0 {
		w = 0
	}
	return hlc.Timestamp{Wall: w}.String(), nil
}
