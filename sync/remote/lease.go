package remote

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cloudplatform/cloud/sync/schema"
)

// The team lock is one item per key, pk "lock#<key>", sk "lock", holding a
// lease: who holds it, until when, and a fencing token. Attribute names of
// a lease item:
const (
	AttrHolder   = "holder"
	AttrInfo     = "info"
	AttrToken    = "token"
	AttrAcquired = "acquired" // epoch milliseconds
	AttrExpires  = "expires"  // epoch milliseconds
	// AttrFence is the fencing token stored on items written by PutFenced.
	AttrFence = "fence"
)

// LeaseSK is the sort key of every lease item.
const LeaseSK = "lock"

// LeaseRetention is how long after its expiry DynamoDB's TTL may delete a
// lease item. Long, because deleting it restarts its token counter (see
// AcquireLease); it only collects the leases of deployments that are gone.
const LeaseRetention = 30 * 24 * time.Hour

// Lease is a time-limited hold of the team lock on a key.
type Lease struct {
	// Key is what is locked, e.g. "<deploymentId>#<environment>".
	Key string `json:"key"`
	// Holder identifies who holds it (user and machine); Info says why
	// (the operation), for whoever is refused.
	Holder string `json:"holder"`
	Info   string `json:"info,omitempty"`
	// Token is the fencing token: it grows with every acquisition, so a
	// write stamped with an older token can be told apart and rejected.
	Token int64 `json:"token"`
	// Acquired is when the holder acquired it; Expires is when it lapses
	// unless renewed. Both come from the acquiring machine's clock.
	Acquired time.Time `json:"acquired"`
	Expires  time.Time `json:"expires"`
}

// Expired reports whether the lease has lapsed at now.
func (l Lease) Expired(now time.Time) bool { return now.After(l.Expires) }

// HeldError is AcquireLease's error when someone else holds the lease:
// "locked by <holder> (<info>) since <time>, lease until <time>" (UTC,
// RFC 3339), so whoever is refused knows whom to ask and until when.
type HeldError struct{ Lease Lease }

// Error names the holder, why, since when and until when.
func (e *HeldError) Error() string {
	l := e.Lease
	who := l.Holder
	if l.Info != "" {
		who += " (" + l.Info + ")"
	}
	return fmt.Sprintf("locked by %s since %s, lease until %s", who,
		l.Acquired.UTC().Format(time.RFC3339), l.Expires.UTC().Format(time.RFC3339))
}

// Expressions shared by the lease methods: the lease is still held by
// the caller (holder and token unchanged); free the lease, keeping the
// item and its token counter.
const (
	heldBy = "#holder = :holder AND #token = :token"
	free   = "REMOVE #holder, #info, #acquired, #expires"
)

func leasePK(key string) string { return "lock#" + key }

var leaseNames = map[string]string{
	"#holder": AttrHolder, "#info": AttrInfo, "#token": AttrToken,
	"#acquired": AttrAcquired, "#expires": AttrExpires, "#ttl": schema.TTLAttribute,
}

var placeholder = regexp.MustCompile(`#[a-z]+`)

// names returns the expression attribute names the expressions use:
// DynamoDB refuses names that are defined but unused.
func names(exprs ...string) map[string]string {
	m := map[string]string{}
	for _, e := range exprs {
		for _, p := range placeholder.FindAllString(e, -1) {
			m[p] = leaseNames[p]
		}
	}
	return m
}

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// AcquireLease takes the lease on key for ttl, when it is free, expired, or
// already held by holder (then it is taken again, with a new token). On
// success the lease's token is one more than the previous acquisition's
// (a request retried after a lost answer acquires twice and skips one:
// tokens only need to grow).
// When someone else holds it, the error is a *HeldError naming them.
//
// The first acquisition of a key starts the token at the current time in
// milliseconds rather than at 1: if the lease item is ever deleted (by TTL
// after LeaseRetention, or by hand), the new counter still starts above
// every token handed out before, so a stale holder's token can never match
// a new one.
//
// Expiry compares the machines' wall clocks: leases should be much longer
// than the clock skew between the team's machines (minutes, renewed by a
// heartbeat every third of the ttl).
func (t *Table) AcquireLease(ctx context.Context, key, holder, info string, ttl time.Duration) (Lease, error) {
	const op = "AcquireLease"
	if key == "" || holder == "" || ttl <= 0 {
		return Lease{}, t.wrap(op, errors.New("need a key, a holder and a positive ttl"))
	}
	for range 3 {
		now := t.now()
		exp := now.Add(ttl)
		ue := "SET #holder = :holder, #acquired = :now, #expires = :expires, #ttl = :ttl, " +
			"#token = if_not_exists(#token, :base) + :one"
		vals := map[string]types.AttributeValue{
			":holder": s(holder), ":now": n(now.UnixMilli()), ":expires": n(exp.UnixMilli()),
			":ttl": n(exp.Add(LeaseRetention).Unix()), ":base": n(now.UnixMilli()), ":one": n(1),
		}
		if info != "" {
			ue += ", #info = :info"
			vals[":info"] = s(info)
		} else {
			ue += " REMOVE #info"
		}
		const cond = "attribute_not_exists(#holder) OR #expires < :now OR #holder = :holder"
		out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(t.name),
			Key:                       keyOf(leasePK(key), LeaseSK),
			UpdateExpression:          aws.String(ue),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  names(ue, cond),
			ExpressionAttributeValues: vals,
			ReturnValues:              types.ReturnValueAllNew,
		})
		if err == nil {
			l, err := leaseFrom(key, out.Attributes)
			return l, t.wrap(op, err)
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return Lease{}, t.wrap(op, err)
		}
		cur, err := t.GetLease(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue // released meanwhile: try again
		}
		if err != nil {
			return Lease{}, t.wrap(op, err)
		}
		if !cur.Expired(t.now()) && cur.Holder != holder {
			return Lease{}, &HeldError{Lease: cur}
		}
	}
	return Lease{}, t.wrap(op, errors.New("the lease kept changing; try again"))
}

// RenewLease extends l (the heartbeat) to ttl from now and returns the
// renewed lease. It fails with an error wrapping ErrLeaseLost unless l's
// holder still holds the lease with l's token — after a takeover or a
// break, the stale holder learns it here and must stop.
func (t *Table) RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	const op = "RenewLease"
	exp := t.now().Add(ttl)
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.name),
		Key:                      keyOf(leasePK(l.Key), LeaseSK),
		UpdateExpression:         aws.String("SET #expires = :expires, #ttl = :ttl"),
		ConditionExpression:      aws.String(heldBy),
		ExpressionAttributeNames: names("SET #expires = :expires, #ttl = :ttl", heldBy),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":expires": n(exp.UnixMilli()), ":ttl": n(exp.Add(LeaseRetention).Unix()),
			":holder": s(l.Holder), ":token": n(l.Token),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Lease{}, t.wrap(op, fmt.Errorf("%s (token %d): %w", l.Key, l.Token, ErrLeaseLost))
	}
	if err != nil {
		return Lease{}, t.wrap(op, err)
	}
	nl, err := leaseFrom(l.Key, out.Attributes)
	return nl, t.wrap(op, err)
}

// ReleaseLease frees l. It returns nil when the lease is free afterwards —
// also when it already was (a retried release, or a break) — and an error
// wrapping ErrLeaseLost when someone else holds it now. The item stays,
// without a holder, so the token counter keeps growing.
func (t *Table) ReleaseLease(ctx context.Context, l Lease) error {
	const op = "ReleaseLease"
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.name),
		Key:                      keyOf(leasePK(l.Key), LeaseSK),
		UpdateExpression:         aws.String(free),
		ConditionExpression:      aws.String(heldBy),
		ExpressionAttributeNames: names(free, heldBy),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":holder": s(l.Holder), ":token": n(l.Token),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// A retry of a release that was applied but whose answer was
		// lost finds the lease free: that is success.
		if _, gerr := t.GetLease(ctx, l.Key); errors.Is(gerr, ErrNotFound) {
			return nil
		}
		return t.wrap(op, fmt.Errorf("%s (token %d): %w", l.Key, l.Token, ErrLeaseLost))
	}
	return t.wrap(op, err)
}

// BreakLease frees the lease on key whoever holds it (unlock --force) and
// returns the lease it removed; the holder's next renewal, release or
// fenced write fails with ErrLeaseLost. It returns an error wrapping
// ErrNotFound when nobody holds it (also when a retry of a break whose
// answer was lost finds its own work done). Like ReleaseLease it keeps the item
// and its token counter rather than deleting it.
func (t *Table) BreakLease(ctx context.Context, key string) (Lease, error) {
	const op = "BreakLease"
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.name),
		Key:                      keyOf(leasePK(key), LeaseSK),
		UpdateExpression:         aws.String(free),
		ConditionExpression:      aws.String("attribute_exists(#holder)"),
		ExpressionAttributeNames: names(free),
		ReturnValues:             types.ReturnValueAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Lease{}, t.wrap(op, fmt.Errorf("lease %s: %w", key, ErrNotFound))
	}
	if err != nil {
		return Lease{}, t.wrap(op, err)
	}
	l, err := leaseFrom(key, out.Attributes)
	return l, t.wrap(op, err)
}

// GetLease returns the lease on key, expired or not (see Lease.Expired),
// with a strongly consistent read. It returns an error wrapping
// ErrNotFound when nobody holds it.
func (t *Table) GetLease(ctx context.Context, key string) (Lease, error) {
	const op = "GetLease"
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            keyOf(leasePK(key), LeaseSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Lease{}, t.wrap(op, err)
	}
	if _, held := out.Item[AttrHolder]; !held {
		return Lease{}, t.wrap(op, fmt.Errorf("lease %s: %w", key, ErrNotFound))
	}
	l, err := leaseFrom(key, out.Item)
	return l, t.wrap(op, err)
}

// CheckFence returns nil when token is the token of the current, unexpired
// lease on key, and an error wrapping ErrLeaseLost otherwise. A holder
// calls it before acting on the lock's behalf; it is a read, so it narrows
// the window for a stale holder but cannot close it — writes that must
// never come from a stale holder go through PutFenced.
func (t *Table) CheckFence(ctx context.Context, key string, token int64) error {
	l, err := t.GetLease(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return &OpError{Op: "CheckFence", Table: t.name, Err: fmt.Errorf("%s: not held: %w", key, ErrLeaseLost)}
	}
	if err != nil {
		return err
	}
	if l.Token != token {
		return &OpError{Op: "CheckFence", Table: t.name, Err: fmt.Errorf("%s: token %d, current %d: %w", key, token, l.Token, ErrLeaseLost)}
	}
	if l.Expired(t.now()) {
		return &OpError{Op: "CheckFence", Table: t.name, Err: fmt.Errorf("%s: expired at %s: %w", key, l.Expires.UTC().Format(time.RFC3339), ErrLeaseLost)}
	}
	return nil
}

// PutFenced writes it stamped with the fencing token (attribute fence),
// unless the stored item carries a greater token: once a newer holder has
// written an item, a stale holder's late write to it is rejected, with an
// error wrapping ErrLeaseLost. DynamoDB cannot condition a write on another
// item (without transactions), so the token travels with the item.
func (t *Table) PutFenced(ctx context.Context, it Item, token int64) error {
	const op = "PutFenced"
	extra := make(map[string]types.AttributeValue, len(it.Extra)+1)
	for k, v := range it.Extra {
		extra[k] = v
	}
	extra[AttrFence] = n(token)
	it.Extra = extra
	av, err := it.Marshal()
	if err != nil {
		return t.wrap(op, err)
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(t.name),
		Item:                      av,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR attribute_not_exists(#fence) OR #fence <= :token"),
		ExpressionAttributeNames:  map[string]string{"#pk": schema.PartitionKey, "#fence": AttrFence},
		ExpressionAttributeValues: map[string]types.AttributeValue{":token": n(token)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return t.wrap(op, fmt.Errorf("item %s/%s: token %d is stale: %w", it.PK, it.SK, token, ErrLeaseLost))
	}
	return t.wrap(op, err)
}

func leaseFrom(key string, m map[string]types.AttributeValue) (Lease, error) {
	l := Lease{Key: key}
	str := func(name string) string {
		if v, ok := m[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	num := func(name string) (int64, error) {
		v, ok := m[name].(*types.AttributeValueMemberN)
		if !ok {
			return 0, fmt.Errorf("lease %s: attribute %q missing or not a number", key, name)
		}
		return strconv.ParseInt(v.Value, 10, 64)
	}
	l.Holder, l.Info = str(AttrHolder), str(AttrInfo)
	var err error
	if l.Token, err = num(AttrToken); err != nil {
		return Lease{}, err
	}
	acq, err := num(AttrAcquired)
	if err != nil {
		return Lease{}, err
	}
	exp, err := num(AttrExpires)
	if err != nil {
		return Lease{}, err
	}
	l.Acquired, l.Expires = time.UnixMilli(acq).UTC(), time.UnixMilli(exp).UTC()
	return l, nil
}
