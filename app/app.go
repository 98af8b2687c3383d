// Package app is the application core of cloud: the one place where
// deployments are initialised, configured, deployed, destroyed and queried.
// The CLI calls it in-process; the GraphQL resolvers and the REST handlers
// call it too, so a feature is written once. It uses engine (planning,
// scheduling, running stacks), store (SQLite) and the sync packages (team
// sync and the team lock, teamsync.go), nothing else.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/engine/runner"
	"github.com/cloudplatform/cloud/store"
)

// Config says where the app keeps its data and finds its tools.
type Config struct {
	// Home holds the database, the Pulumi file backend, the workspaces and
	// the keys (default ~/.cloud).
	Home string
	// StacksDirs are searched for stack program binaries by name.
	StacksDirs []string
	// Pulumi is an explicit Pulumi CLI path; empty means search ToolsDirs
	// then PATH.
	Pulumi    string
	ToolsDirs []string
	// Self is the cloud executable (it runs the built-in example stacks);
	// Builtin names them.
	Self    string
	Builtin []string
	// ServeProject, when set, runs project stacks inside this process (the
	// Pulumi CLI they drive is a process of its own); otherwise they run
	// as `Self project-runner DIR`.
	ServeProject func(ctx context.Context, dir string, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int
	// Actor is recorded on every operation (default: the OS user).
	Actor string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives what happens in the background and what cannot be
	// returned (an event that could not be recorded); default: nowhere.
	Logger *slog.Logger
	// TeamLock is taken around deploys, destroys and rollbacks so two
	// machines of the team never change one environment at once; nil
	// means the lease in the configured sync table (none when sync is not
	// configured, or offline).
	TeamLock TeamLock
	// Version is the version of the build (git describe, or dev), for
	// Version.
	Version string
	// Offline keeps team sync and the team lock off for this process
	// (the CLI's --offline), whatever the sync configuration says.
	Offline bool
	// MaxManifestBytes is the largest manifest Init and ApplyManifest
	// accept (every revision is stored whole); 0 means
	// $CLOUD_MAX_MANIFEST_BYTES, else DefaultMaxManifestBytes.
	MaxManifestBytes int64
	// Store, when set, is the store the App uses instead of opening the
	// home's cloud.db; its opener keeps it and closes it after the App
	// (tests that record what no door records, to measure or provoke the
	// core). Nothing else reaches the store past the App.
	Store *store.DB
}

// DefaultMaxManifestBytes is the default manifest size limit (1 MiB): a
// manifest of a hundred stacks is tens of kilobytes.
const DefaultMaxManifestBytes = 1 << 20

// MaxManifestBytesEnv names the environment variable that sets
// Config.MaxManifestBytes, for the CLI and `cloud serve` alike.
const MaxManifestBytesEnv = "CLOUD_MAX_MANIFEST_BYTES"

// maxManifestBytes returns the manifest size limit: configured, from the
// environment, or the default. The environment's value is a number of
// bytes, optionally with a KiB, MiB or GiB suffix (4MiB).
func maxManifestBytes(configured int64) (int64, error) {
	if configured > 0 {
		return configured, nil
	}
	v := strings.TrimSpace(os.Getenv(MaxManifestBytesEnv))
	if v == "" {
		return DefaultMaxManifestBytes, nil
	}
	num, unit := v, int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, unit = strings.TrimSpace(n), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/unit {
		return 0, usagef("%s=%q: want a positive number of bytes, optionally with KiB, MiB or GiB (e.g. 1048576 or 4MiB)", MaxManifestBytesEnv, v)
	}
	return n * unit, nil
}

// App is the application core, opened once per process and shared.
type App struct {
	cfg Config
	db  *store.DB
	// ownsDB: the App opened db, and closes it (not a Config.Store).
	ownsDB  bool
	locator *runner.Locator
	// clientMu guards pulumi and client, found and made on first use by
	// whichever operation comes first.
	clientMu sync.Mutex
	client   *runner.Client
	pulumi   string
	bg       background
	// unwritable is why Open could not write the store, or nil.
	unwritable error
}

// DefaultHome returns $CLOUD_HOME or ~/.cloud.
func DefaultHome() string {
	if h := os.Getenv("CLOUD_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cloud")
	}
	return ".cloud"
}

// Open opens the home (creating it), the store, and marks operations whose
// owner process died as interrupted.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Home == "" {
		cfg.Home = DefaultHome()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Actor == "" {
		cfg.Actor = currentUser()
	}
	limit, err := maxManifestBytes(cfg.MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	cfg.MaxManifestBytes = limit
	for _, dir := range []string{cfg.Home, filepath.Join(cfg.Home, "state")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create home %s: %w", dir, err)
		}
	}
	db := cfg.Store
	if db == nil {
		if err := checkLostStore(cfg.Home); err != nil {
			return nil, err
		}
		if db, err = OpenStore(ctx, cfg); err != nil {
			return nil, err
		}
	}
	a := &App{cfg: cfg, db: db, ownsDB: cfg.Store == nil}
	if a.cfg.TeamLock == nil {
		a.cfg.TeamLock = a.defaultTeamLock()
	}
	a.bg.init()
	a.locator = &runner.Locator{Dirs: cfg.StacksDirs, Self: cfg.Self, Builtin: cfg.Builtin, ServeProject: cfg.ServeProject}
	// Both write: with the disk full or the store read-only they wait for
	// the next open that can write, and reading commands still work.
	if _, err := db.ReapInterrupted(ctx); err != nil {
		if !store.IsUnwritable(err) {
			db.Close()
			return nil, fmt.Errorf("mark interrupted operations: %w", err)
		}
		a.unwritable = err
		a.log().Warn("the store cannot be written: operations of processes that died are marked interrupted at the next open that can write",
			"store", db.Path(), "error", strings.TrimPrefix(err.Error(), "store: "))
	}
	if err := a.installTemplates(ctx); err != nil {
		if !store.IsUnwritable(err) {
			db.Close()
			return nil, err
		}
		a.unwritable = err
		a.log().Warn("the store cannot be written: built-in templates are updated at the next open that can write",
			"store", db.Path(), "error", strings.TrimPrefix(err.Error(), "store: "))
	}
	return a, nil
}

// checkLostStore refuses a zero-length cloud.db beside Pulumi state of
// stacks: the store was truncated or replaced, and opening it would
// silently show a home with no deployments while their resources live on.
func checkLostStore(home string) error {
	dbPath := filepath.Join(home, "cloud.db")
	fi, err := os.Stat(dbPath)
	if err != nil || fi.Size() != 0 {
		return nil // a new home, or a store SQLite reads (or says why not)
	}
	if wal, err := os.Stat(dbPath + "-wal"); err == nil && wal.Size() > 0 {
		return nil // SQLite recovers the pages from the write-ahead log
	}
	stateDir := filepath.Join(home, "state", ".pulumi", "stacks")
	var stacks []string
	_ = filepath.WalkDir(stateDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			rel, _ := filepath.Rel(stateDir, p)
			stacks = append(stacks, strings.TrimSuffix(filepath.ToSlash(rel), ".json"))
		}
		return nil
	})
	if len(stacks) == 0 {
		return nil
	}
	example := stacks[0]
	if len(stacks) > 1 {
		example += ", …"
	}
	return fmt.Errorf("%w: %s is empty (0 bytes) but %s holds the Pulumi state of %d stack(s) (%s): "+
		"the store was truncated or lost, and opening it would show no deployments while their resources still exist. "+
		"Restore cloud.db from a backup (with team sync: cloud --home NEW sync configure …, then cloud --home NEW sync pull); "+
		"to start over instead, move %s and the empty cloud.db aside",
		ErrStoreLost, dbPath, stateDir, len(stacks), example, filepath.Join(home, "state"))
}

// Unwritable returns the error with which Open found the store could not
// be written (the disk full, the file read-only), or nil. Open goes on
// without its writes then, so reading works; every write fails the same
// way until the store can be written.
func (a *App) Unwritable() error { return a.unwritable }

// Close closes the store.
func (a *App) Close() error {
	if !a.ownsDB {
		return nil
	}
	return a.db.Close()
}

// OpenStore opens the store of cfg's home as Open does (its key file, its
// clock), for a Config.Store.
func OpenStore(ctx context.Context, cfg Config) (*store.DB, error) {
	home := cfg.Home
	if home == "" {
		home = DefaultHome()
	}
	return store.Open(ctx, filepath.Join(home, "cloud.db"), store.Options{
		KeyFile: filepath.Join(home, "secret.key"),
		Now:     cfg.Now,
	})
}

// Logger is where the core logs (Config.Logger).
func (a *App) Logger() *slog.Logger { return a.cfg.Logger }

// Home returns the home directory.
func (a *App) Home() string { return a.cfg.Home }

// findPulumi finds the Pulumi CLI on first use, once: commands that only
// read the store must work on a machine without it, and an operation
// validates and then runs with the same one.
func (a *App) findPulumi() (string, error) {
	a.clientMu.Lock()
	defer a.clientMu.Unlock()
	if a.pulumi == "" {
		p, err := runner.FindPulumi(a.cfg.Pulumi, a.cfg.ToolsDirs...)
		if err != nil {
			return "", err
		}
		a.pulumi = p
	}
	return a.pulumi, nil
}

// runnerClient is the client of the Pulumi CLI (findPulumi) with the
// secrets passphrase, made on first use.
func (a *App) runnerClient() (*runner.Client, error) {
	p, err := a.findPulumi()
	if err != nil {
		return nil, err
	}
	a.clientMu.Lock()
	defer a.clientMu.Unlock()
	if a.client != nil {
		return a.client, nil
	}
	pass, err := a.passphrase()
	if err != nil {
		return nil, err
	}
	a.client = &runner.Client{Pulumi: p, Env: []string{"PULUMI_CONFIG_PASSPHRASE=" + pass}}
	return a.client, nil
}

// passphrase returns the passphrase of the Pulumi secrets provider, kept in
// the home (0600) and created on first use. PULUMI_CONFIG_PASSPHRASE wins
// when set, so a team can share one.
func (a *App) passphrase() (string, error) {
	if p := os.Getenv("PULUMI_CONFIG_PASSPHRASE"); p != "" {
		return p, nil
	}
	path := filepath.Join(a.cfg.Home, "pulumi-passphrase")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	p := hex.EncodeToString(buf)
	if err := writeFileAtomic(path, []byte(p+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store pulumi passphrase: %w", err)
	}
	return p, nil
}

// backendURL is the Pulumi state backend of a deployment: the manifest's,
// or a file backend under the home.
func (a *App) backendURL(manifestBackend string) string {
	if manifestBackend != "" {
		return manifestBackend
	}
	return "file://" + filepath.ToSlash(filepath.Join(a.cfg.Home, "state"))
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// writeFileAtomic writes a file through a temporary file and a rename, so a
// crash never leaves half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
