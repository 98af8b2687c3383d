package remote

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cloudplatform/cloud/store/hlc"
	"github.com/cloudplatform/cloud/sync/schema"
)

// Attribute names of an item (beyond the keys of sync/schema). They are
// short because DynamoDB bills every byte of every attribute name in every
// item; several are reserved words, so expressions always go through
// expression attribute names.
const (
	AttrEntity  = "entity"
	AttrKey     = "key"
	AttrVersion = "version"
	AttrHLC     = "hlc"
	AttrReplica = "replica"
	AttrDeleted = "deleted"
	AttrPayload = "payload"
)

// Item is one record of the shared table: a local row (or tombstone) as the
// outbox recorded it, under its table keys, with the push time that places
// it in the change feed.
type Item struct {
	// PK and SK are the item's table keys (see docs/sync.md for their
	// patterns, e.g. "d#<deploymentId>" / "stack#<name>").
	PK, SK string
	// Entity is the local table the row belongs to (outbox entity).
	Entity string
	// Key is the row's local primary key, a JSON array (outbox entity_key).
	Key json.RawMessage
	// Version is the row's local version counter (informative: ordering is
	// by HLC, because versions of different replicas are not comparable).
	Version int64
	// HLC is the write's hybrid logical clock timestamp, 20 hex digits; it
	// orders writes (last writer wins), Replica breaking ties.
	HLC string
	// Replica is the id of the replica that made the write.
	Replica string
	// Deleted marks a tombstone: the row was deleted.
	Deleted bool
	// Payload is the row as JSON (outbox payload).
	Payload json.RawMessage
	// FeedHLC is the HLC of the push (not of the write): it places the item
	// in the change feed. Empty keeps the item out of the feed.
	FeedHLC string
	// ExpiresAt is the epoch second after which DynamoDB may delete the
	// item (TTL); 0 means never. Set on tombstones.
	ExpiresAt int64
	// Extra holds further attributes, written as given and returned by
	// reads: everything not named above. It must not use the names above.
	Extra map[string]types.AttributeValue
}

// FeedPK returns the change-feed bucket of the item: "feed#YYYY-MM-DDTHH",
// the UTC hour of FeedHLC's physical time; "" when FeedHLC is empty.
//
// The feed is keyed by the push time, not by the write's HLC: a write made
// offline on Monday and pushed on Friday must be seen by a puller whose
// cursor has long passed Monday. Keyed by push time it lands after every
// cursor that existed when it was pushed; keyed by write time it would be
// behind them and only a full reconciliation would find it.
func (it Item) FeedPK() (string, error) {
	if it.FeedHLC == "" {
		return "", nil
	}
	ts, err := hlc.Parse(it.FeedHLC)
	if err != nil {
		return "", fmt.Errorf("feed HLC: %w", err)
	}
	return FeedBucket(ts), nil
}

// FeedSK returns the item's position in its bucket:
// "<FeedHLC>#<Replica>#<PK>#<SK>" — ordered by push time; the rest makes it
// unique, since DynamoDB index keys need not be.
func (it Item) FeedSK() string {
	if it.FeedHLC == "" {
		return ""
	}
	return it.FeedHLC + "#" + it.Replica + "#" + it.PK + "#" + it.SK
}

// FeedBucket returns the change-feed partition of a timestamp,
// "feed#YYYY-MM-DDTHH" (UTC).
func FeedBucket(ts hlc.Timestamp) string {
	return "feed#" + ts.Time().Format("2006-01-02T15")
}

var reservedAttrs = map[string]bool{
	schema.PartitionKey: true, schema.SortKey: true, schema.FeedPartitionKey: true,
	schema.FeedSortKey: true, schema.TTLAttribute: true, AttrEntity: true, AttrKey: true,
	AttrVersion: true, AttrHLC: true, AttrReplica: true, AttrDeleted: true, AttrPayload: true,
}

func (it Item) validate() error {
	if it.PK == "" || it.SK == "" {
		return fmt.Errorf("item %q/%q: empty key", it.PK, it.SK)
	}
	if it.HLC != "" {
		if _, err := hlc.Parse(it.HLC); err != nil {
			return fmt.Errorf("item %s/%s: HLC: %w", it.PK, it.SK, err)
		}
	}
	if strings.Contains(it.Replica, "#") {
		return fmt.Errorf("item %s/%s: replica id %q contains '#'", it.PK, it.SK, it.Replica)
	}
	if it.Key != nil && !json.Valid(it.Key) {
		return fmt.Errorf("item %s/%s: key is not JSON", it.PK, it.SK)
	}
	if it.Payload != nil && !json.Valid(it.Payload) {
		return fmt.Errorf("item %s/%s: payload is not JSON", it.PK, it.SK)
	}
	for name := range it.Extra {
		if reservedAttrs[name] {
			return fmt.Errorf("item %s/%s: extra attribute %q has a reserved name", it.PK, it.SK, name)
		}
	}
	return nil
}

// Marshal returns the item's attribute values. Empty optional fields are
// left out (DynamoDB rejects empty key attributes, and leaving them out
// saves bytes). JSON fields are stored as strings, byte for byte.
func (it Item) Marshal() (map[string]types.AttributeValue, error) {
	if err := it.validate(); err != nil {
		return nil, err
	}
	m := make(map[string]types.AttributeValue, 12+len(it.Extra))
	for k, v := range it.Extra {
		m[k] = v
	}
	s := func(name, v string) {
		if v != "" {
			m[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	s(schema.PartitionKey, it.PK)
	s(schema.SortKey, it.SK)
	s(AttrEntity, it.Entity)
	s(AttrKey, string(it.Key))
	s(AttrHLC, it.HLC)
	s(AttrReplica, it.Replica)
	s(AttrPayload, string(it.Payload))
	m[AttrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(it.Version, 10)}
	if it.Deleted {
		m[AttrDeleted] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if it.FeedHLC != "" {
		fpk, err := it.FeedPK()
		if err != nil {
			return nil, fmt.Errorf("item %s/%s: %w", it.PK, it.SK, err)
		}
		s(schema.FeedPartitionKey, fpk)
		s(schema.FeedSortKey, it.FeedSK())
	}
	if it.ExpiresAt != 0 {
		m[schema.TTLAttribute] = &types.AttributeValueMemberN{Value: strconv.FormatInt(it.ExpiresAt, 10)}
	}
	return m, nil
}

// Unmarshal reads an item from its attribute values; attributes it does
// not know go to Extra. FeedHLC is recovered from the feed sort key.
func Unmarshal(m map[string]types.AttributeValue) (Item, error) {
	var it Item
	var err error
	str := func(name string) string {
		v, ok := m[name]
		if !ok {
			return ""
		}
		sv, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			err = fmt.Errorf("attribute %q is not a string", name)
			return ""
		}
		return sv.Value
	}
	num := func(name string) int64 {
		v, ok := m[name]
		if !ok {
			return 0
		}
		nv, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			err = fmt.Errorf("attribute %q is not a number", name)
			return 0
		}
		n, perr := strconv.ParseInt(nv.Value, 10, 64)
		if perr != nil {
			err = fmt.Errorf("attribute %q: %v", name, perr)
		}
		return n
	}
	it.PK = str(schema.PartitionKey)
	it.SK = str(schema.SortKey)
	it.Entity = str(AttrEntity)
	if k := str(AttrKey); k != "" {
		it.Key = json.RawMessage(k)
	}
	it.Version = num(AttrVersion)
	it.HLC = str(AttrHLC)
	it.Replica = str(AttrReplica)
	if p := str(AttrPayload); p != "" {
		it.Payload = json.RawMessage(p)
	}
	if fsk := str(schema.FeedSortKey); fsk != "" {
		it.FeedHLC, _, _ = strings.Cut(fsk, "#")
	}
	it.ExpiresAt = num(schema.TTLAttribute)
	if v, ok := m[AttrDeleted]; ok {
		b, ok := v.(*types.AttributeValueMemberBOOL)
		if !ok {
			return Item{}, fmt.Errorf("attribute %q is not a boolean", AttrDeleted)
		}
		it.Deleted = b.Value
	}
	for k, v := range m {
		if !reservedAttrs[k] {
			if it.Extra == nil {
				it.Extra = map[string]types.AttributeValue{}
			}
			it.Extra[k] = v
		}
	}
	if err != nil {
		return Item{}, fmt.Errorf("item %s/%s: %w", it.PK, it.SK, err)
	}
	return it, nil
}

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		schema.PartitionKey: &types.AttributeValueMemberS{Value: pk},
		schema.SortKey:      &types.AttributeValueMemberS{Value: sk},
	}
}
