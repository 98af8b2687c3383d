package store

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloudplatform/cloud/store/hlc"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configures Open.
type Options struct {
	// KeyFile is the path of the 32-byte key that encrypts secret outputs.
	// It is created with mode 0600 if missing. Empty means "<path>.key".
	KeyFile string

	// Now is the wall clock; nil means time.Now. Tests pass a fixed clock.
	Now func() time.Time
}

// DB is an open store. It is safe for concurrent use by many goroutines,
// and several processes may open the same file.
type DB struct {
	path      string
	writer    *sql.DB // one connection, BEGIN IMMEDIATE transactions
	reader    *sql.DB // read-only pool
	now       func() time.Time
	clock     *hlc.Clock
	replicaID string
	keyFile   string
	aead      cipher.AEAD
	stmts     map[string]*sql.Stmt // prepared on the writer; read-only after Open

	readOnly bool // opened read-only: the file is not writable by this process

	evMu sync.Mutex
	evCh chan struct{} // closed at the next commit that appends events; nil until asked for
}

// dsnPragmas are applied to every connection, busy_timeout first.
// journal_size_limit truncates the WAL back to 4 MiB once a checkpoint has
// copied it into the database: without it, one large write (a big
// manifest revision) leaves a WAL file as large as itself for as long as
// the database is open.
const dsnPragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=journal_size_limit(4194304)"

// Open opens (creating if needed) the store at path, applies pending
// migrations and loads the replica identity and the secrets key. The parent
// directory is created with mode 0700. Open returns an error wrapping
// ErrSchemaTooNew if the database was migrated by a newer binary.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: open: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory: %w", err)
	}
	readOnly := false
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		// A store this process may only read (its mode, its owner, a
		// read-only mount) is opened read-only: reads work, writes fail
		// with errors IsUnwritable recognises.
		if ro, rerr := os.Open(path); rerr == nil {
			f, err, readOnly = ro, nil, true
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err) // err names the operation and path
	}
	f.Close()

	db := &DB{path: path, now: opts.Now, keyFile: opts.KeyFile, readOnly: readOnly}
	if db.now == nil {
		db.now = time.Now
	}
	if db.keyFile == "" {
		db.keyFile = path + ".key"
	}
	db.clock = hlc.New(db.now)
	if db.aead, err = loadKey(db.keyFile); err != nil {
		return nil, err
	}

	base := path + "?"
	if readOnly {
		base = readOnlyDSN(path, false)
	}
	if err := db.openWriter(base); err != nil {
		return nil, err
	}
	if !readOnly {
		err := migrate(ctx, db.writer)
		if err != nil && IsUnwritable(err) {
			// A full disk (or a WAL index that cannot be made): read the
			// store as it is.
			db.writer.Close()
			readOnly, db.readOnly, base = true, true, readOnlyDSN(path, false)
			if err := db.openWriter(base); err != nil {
				return nil, err
			}
		} else if err != nil {
			db.writer.Close()
			return nil, err
		}
	}
	if readOnly {
		// Without the right to create cloud.db-shm beside it, WAL cannot
		// be read shared: read the file as it is.
		var n int
		if err := db.writer.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&n); err != nil && IsUnwritable(err) {
			db.writer.Close()
			base = readOnlyDSN(path, true)
			if err := db.openWriter(base); err != nil {
				return nil, err
			}
		}
		if err := checkSchema(ctx, db.writer, path); err != nil {
			db.writer.Close()
			return nil, err
		}
	}
	if err := db.loadReplica(ctx); err != nil {
		db.writer.Close()
		return nil, err
	}
	if err := db.prepareWrites(ctx); err != nil {
		db.writer.Close()
		return nil, err
	}

	db.reader, err = sql.Open("sqlite", base+dsnPragmas+"&_pragma=query_only(1)")
	if err != nil {
		db.writer.Close()
		return nil, fmt.Errorf("store: open readers: %w", err)
	}
	db.reader.SetMaxOpenConns(8)
	db.reader.SetMaxIdleConns(8)
	if err := db.reader.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open readers: %w", err)
	}
	return db, nil
}

// openWriter opens the single-connection writer pool on base (a path or a
// URI followed by "?" or "&").
func (db *DB) openWriter(base string) error {
	w, err := sql.Open("sqlite", base+dsnPragmas+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("store: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	db.writer = w
	return nil
}

// readOnlyDSN is the URI opening path read-only; immutable also gives up
// the locks and the shared WAL index, for a directory this process cannot
// create cloud.db-shm in.
func readOnlyDSN(path string, immutable bool) string {
	u := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?mode=ro&"
	if immutable {
		u += "immutable=1&"
	}
	return u
}

// ReadOnly reports whether Open opened the store read-only, the file not
// being writable by this process or a write failing at open (a full disk):
// reads work, and every write fails with an error for which IsUnwritable
// is true.
func (db *DB) ReadOnly() bool { return db.readOnly }

// Close closes both connection pools.
func (db *DB) Close() error {
	var errs []error
	for _, s := range db.stmts {
		errs = append(errs, s.Close())
	}
	if db.reader != nil {
		errs = append(errs, db.reader.Close())
	}
	if db.writer != nil {
		errs = append(errs, db.writer.Close())
	}
	return errors.Join(errs...)
}

// ReplicaID returns the random identifier of this database, generated when
// it was first opened.
func (db *DB) ReplicaID() string { return db.replicaID }

// Path returns the database file path given to Open.
func (db *DB) Path() string { return db.path }

// loadReplica reads the replica row, creating it on first open, and moves
// the clock past the last persisted timestamp.
func (db *DB) loadReplica(ctx context.Context) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: load replica: %w", err)
	}
	defer tx.Rollback()
	var id, last string
	err = tx.QueryRowContext(ctx, `SELECT id, last_hlc FROM replica LIMIT 1`).Scan(&id, &last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var b [16]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
		if _, err := tx.ExecContext(ctx, `INSERT INTO replica (id, last_hlc) VALUES (?, '')`, id); err != nil {
			return fmt.Errorf("store: create replica: %w", err)
		}
	case err != nil:
		return fmt.Errorf("store: load replica: %w", err)
	}
	if last != "" {
		ts, err := hlc.Parse(last)
		if err != nil {
			return fmt.Errorf("store: load replica clock: %w", err)
		}
		db.clock.Observe(ts)
	}
	db.replicaID = id
	return tx.Commit()
}

// querier is what reads need: the reader pool or a write transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// timeLayout is RFC 3339 with a fixed nine-digit fraction, so stored
// timestamps sort as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// fmtTimePtr returns nil (SQL NULL) for a nil time.
func fmtTimePtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return fmtTime(*t)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: parse time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseTimePtr(s sql.NullString) (*time.Time, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// jsonText encodes v for a JSON column; nil maps and slices become NULL.
func jsonText(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("store: encode JSON: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return string(b), nil
}

// scanJSON decodes a JSON column into dst; NULL leaves dst unchanged.
func scanJSON(s sql.NullString, dst any) error {
	if !s.Valid || s.String == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s.String), dst); err != nil {
		return fmt.Errorf("store: decode JSON column: %w", err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
