// Package schema is the shape of the DynamoDB table the sync engine shares
// with a team: its keys, the change-feed index and the TTL attribute. The
// engine (the sync packages) and the platform stack that creates the table
// in AWS both read it from here, so they cannot disagree. It has no
// dependencies, so a stack binary can import it without the AWS SDK for Go.
package schema

// DefaultTableName is the table's name when none is configured.
const DefaultTableName = "cloud-platform"

// Attribute names of the keys. Every item has PartitionKey and SortKey;
// items that belong in the change feed also have FeedPartitionKey and
// FeedSortKey.
const (
	// PartitionKey groups an entity's items, e.g. "dep#<deploymentId>".
	PartitionKey = "pk"
	// SortKey orders items in a partition, e.g. "op#<operationId>".
	SortKey = "sk"
	// ChangeFeedIndex is the global secondary index the pull reads: every
	// write lands in the bucket of its hour, ordered by its HLC timestamp.
	ChangeFeedIndex = "changes"
	// FeedPartitionKey is the change-feed bucket, "feed#<YYYY-MM-DDTHH>"
	// (UTC hour of the write's HLC physical time).
	FeedPartitionKey = "fpk"
	// FeedSortKey orders writes within a bucket: "<hlc>#<replica>#<pk>#<sk>".
	FeedSortKey = "fsk"
	// TTLAttribute holds the epoch second after which DynamoDB may delete
	// the item: set on tombstones and expired lock leases only.
	TTLAttribute = "expiresAt"
)

// KeyType is "S" (string) for every key attribute of the table and index.
const KeyType = "S"

// Key is one key attribute: its name and whether it is the hash (partition)
// or range (sort) key.
type Key struct {
	Name string
	Hash bool
}

// TableKeys are the table's primary key.
var TableKeys = []Key{{Name: PartitionKey, Hash: true}, {Name: SortKey}}

// FeedKeys are the change-feed index's key; the index projects all
// attributes.
var FeedKeys = []Key{{Name: FeedPartitionKey, Hash: true}, {Name: FeedSortKey}}
