// Package remote is the sync engine's access layer to the team's DynamoDB
// table: opening it, creating and checking it against sync/schema, reading
// and writing items with the conditions that make push idempotent and
// last-writer-wins, reading the change feed, and the team lock's lease.
//
// It knows nothing about the local store: the engine (push, pull,
// conflicts) translates outbox rows into Items and back. Every method is
// safe to retry: conditional writes make a retry of an already applied
// write harmless, which matters because a request whose answer was lost
// may or may not have been applied by DynamoDB.
//
// The package uses only what dynalite (the DynamoDB-compatible server the
// tests run against) implements: no transactions, no streams. Every
// attribute name in an expression goes through expression attribute names,
// because many (name, status, key, …) are reserved words.
package remote

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
)

// Config says which table to use and how to reach it.
type Config struct {
	// Table is the DynamoDB table's name.
	Table string `json:"table"`
	// Region is the AWS region; empty means the SDK's default (AWS_REGION,
	// the profile's region).
	Region string `json:"region,omitempty"`
	// Endpoint overrides the service URL, e.g. http://127.0.0.1:8000 for a
	// local DynamoDB-compatible server. Empty means AWS.
	Endpoint string `json:"endpoint,omitempty"`
	// Profile is a shared-config profile (~/.aws/config); empty means the
	// default credential chain.
	Profile string `json:"profile,omitempty"`
}

// Defaults of the client. More attempts than the SDK's 3, because the sync
// loop is background work that should ride out a throttled or flaky
// network rather than give up on the first hiccup.
const (
	DefaultMaxAttempts = 8
	DefaultMaxBackoff  = 5 * time.Second
	// baseBackoff is the first retry's largest delay; it doubles per
	// attempt up to MaxBackoff (DynamoDB's recommended 50 ms base).
	baseBackoff = 50 * time.Millisecond
)

// Table is an open DynamoDB table. It is safe for concurrent use.
type Table struct {
	db       *dynamodb.Client
	name     string
	now      func() time.Time
	pageSize int32
}

// Option changes how Open sets up a Table.
type Option func(*options)

type options struct {
	now         func() time.Time
	pageSize    int32
	maxAttempts int
	maxBackoff  time.Duration
	httpTimeout time.Duration
}

// WithClock sets the wall clock the lease methods read (time.Now by
// default), so tests can move time instead of sleeping.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithPageSize caps the items per Query or Scan page (DynamoDB's own limit
// of 1 MB per page applies regardless); 0 means no cap.
func WithPageSize(n int32) Option { return func(o *options) { o.pageSize = n } }

// WithRetry sets the attempts per request (first try included) and the
// largest delay between two attempts. A command that must fail fast when
// the table is unreachable uses few attempts.
func WithRetry(maxAttempts int, maxBackoff time.Duration) Option {
	return func(o *options) { o.maxAttempts, o.maxBackoff = maxAttempts, maxBackoff }
}

// WithHTTPTimeout bounds one HTTP attempt, from dial to the end of the
// response (default 30 s).
func WithHTTPTimeout(d time.Duration) Option { return func(o *options) { o.httpTimeout = d } }

// Open returns the table of cfg. It does not contact DynamoDB (Check and
// CreateTable do); it fails when cfg is incomplete or when the AWS
// configuration (region, profile) cannot be loaded.
//
// When cfg.Endpoint is a loopback URL (a local test server) and no AWS
// credentials are found, dummy static credentials are used: the local
// server does not check signatures, and a developer machine need not have
// AWS credentials to run it.
func Open(ctx context.Context, cfg Config, opts ...Option) (*Table, error) {
	o := options{now: time.Now, maxAttempts: DefaultMaxAttempts, maxBackoff: DefaultMaxBackoff, httpTimeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.Table == "" {
		return nil, errors.New("remote: open: no table name")
	}
	loopback := false
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("remote: open table %q: endpoint %q is not an http(s) URL", cfg.Table, cfg.Endpoint)
		}
		loopback = isLoopback(u.Hostname())
	}

	httpClient := awshttp.NewBuildableClient().WithTimeout(o.httpTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 5 * time.Second }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = 10 * time.Second
			tr.ResponseHeaderTimeout = o.httpTimeout
			tr.IdleConnTimeout = 90 * time.Second
			tr.MaxIdleConnsPerHost = 16
		})
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = o.maxAttempts
			so.MaxBackoff = o.maxBackoff
			so.Backoff = jitterBackoff{max: o.maxBackoff}
			// The client-side retry quota would turn a long flaky spell
			// into hard failures of every request; the sync loop paces
			// itself, so attempts are bounded by MaxAttempts alone.
			so.RateLimiter = ratelimit.None
		})
	}
	loadOpts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(retryer),
	}
	if cfg.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if loopback {
		// No instance metadata lookups for a local server: off EC2 they
		// only add seconds of timeouts.
		loadOpts = append(loadOpts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("remote: open table %q: load AWS configuration: %w", cfg.Table, err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("remote: open table %q: no region: configure one (cloud sync configure --region) or set AWS_REGION", cfg.Table)
	}
	if loopback && cfg.Profile == "" {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := awsCfg.Credentials.Retrieve(cctx)
		cancel()
		if err != nil {
			awsCfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
		}
	}
	db := dynamodb.NewFromConfig(awsCfg, func(do *dynamodb.Options) {
		if cfg.Endpoint != "" {
			do.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &Table{db: db, name: cfg.Table, now: o.now, pageSize: o.pageSize}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// Client returns the underlying DynamoDB client, for what this package does
// not cover. Writes through it bypass the conditions that keep sync
// correct; prefer the Table's methods.
func (t *Table) Client() *dynamodb.Client { return t.db }

// jitterBackoff is exponential backoff with full jitter: a random delay in
// [0, min(max, base·2^attempt)). Jitter spreads out the retries of many
// clients throttled at once.
type jitterBackoff struct{ max time.Duration }

// BackoffDelay implements retry.BackoffDelayer.
func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := b.max
	if attempt < 20 {
		if c := baseBackoff << attempt; c < d {
			d = c
		}
	}
	if d <= 0 {
		return 0, nil
	}
	return rand.N(d), nil
}

// Errors a caller can test for with errors.Is.
var (
	// ErrNotFound: the item (or lease) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTableMissing: the table does not exist.
	ErrTableMissing = errors.New("table does not exist")
	// ErrLeaseLost: the lease is no longer held by the caller (it expired
	// and was taken over, was broken, or its token is stale).
	ErrLeaseLost = errors.New("lease lost")
)

// OpError is an error of one operation on the table: it names the
// operation and the table, and wraps the cause.
type OpError struct {
	Op    string // e.g. "PutIfNewer", "CreateTable"
	Table string
	Err   error
}

// Error reads "dynamodb <op> on table <name>: <cause>".
func (e *OpError) Error() string {
	return fmt.Sprintf("dynamodb %s on table %q: %v", e.Op, e.Table, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *OpError) Unwrap() error { return e.Err }

// wrap returns err as an *OpError of op, translating the SDK's "table not
// found" into ErrTableMissing; nil stays nil.
func (t *Table) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException" {
		err = fmt.Errorf("%w (%s)", ErrTableMissing, ae.ErrorMessage())
	}
	return &OpError{Op: op, Table: t.name, Err: err}
}

// errorCode returns the DynamoDB error code of err ("" if it is not an API
// error).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
