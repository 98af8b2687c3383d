package app_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/engine/manifest"
)

// smallManifest is a valid manifest of deployment DSIZE01; extra is
// appended to the config of stack a.
func smallManifest(extra string) string {
	return `version: 1
deployment_id: DSIZE01
organization: acme
project: size
environments:
  dev: {region: us-east-1}
stacks:
  a:
    config:
      region: ${env.region}
` + extra + `  b:
    dependencies: [a]
`
}

// bigConfig returns config lines for stack a totalling about n bytes.
func bigConfig(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "      key%d: %q\n", i, strings.Repeat("x", 200))
	}
	return b.String()
}

func openHome(t *testing.T, home string, cfg app.Config) *app.App {
	t.Helper()
	cfg.Home = home
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func revisions(t *testing.T, a *app.App, id string) int {
	t.Helper()
	revs, err := a.Revisions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return len(revs)
}

func TestApplyManifest_SizeLimit(t *testing.T) {
	ctx := context.Background()
	a := openHome(t, t.TempDir(), app.Config{MaxManifestBytes: 8 << 10})
	if _, err := a.Init(ctx, app.InitRequest{File: "small.yaml", Data: []byte(smallManifest(""))}); err != nil {
		t.Fatal(err)
	}
	big := []byte(smallManifest(bigConfig(20 << 10)))

	check := func(t *testing.T, err error, file string) {
		t.Helper()
		if !errors.Is(err, app.ErrManifestTooLarge) {
			t.Fatalf("error = %v, want ErrManifestTooLarge", err)
		}
		var me *manifest.Error
		if !errors.As(err, &me) {
			t.Fatalf("error %T is not a *manifest.Error (exit code 2, VALIDATION_FAILED)", err)
		}
		msg := err.Error()
		for _, want := range []string{file + ": the manifest is ", "over the limit of 8 KiB (8192 bytes)", "CLOUD_MAX_MANIFEST_BYTES=1MiB"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
		}
		if n := revisions(t, a, "DSIZE01"); n != 1 {
			t.Errorf("%d revisions after a refused manifest, want 1", n)
		}
	}
	t.Run("apply", func(t *testing.T) {
		_, _, err := a.ApplyManifest(ctx, "DSIZE01", "big.yaml", big)
		check(t, err, "big.yaml")
		if !strings.Contains(err.Error(), fmt.Sprintf("(%d bytes)", len(big))) {
			t.Errorf("error %q does not give the manifest's size %d", err, len(big))
		}
	})
	t.Run("init", func(t *testing.T) {
		data := strings.Replace(string(big), "DSIZE01", "DSIZE02", 1)
		_, err := a.Init(ctx, app.InitRequest{File: "big.yaml", Data: []byte(data)})
		check(t, err, "big.yaml")
		if _, err := a.Deployment(ctx, "DSIZE02"); err == nil {
			t.Error("the refused deployment was created")
		}
	})
	t.Run("config set", func(t *testing.T) {
		_, err := a.SetConfig(ctx, "DSIZE01", "stacks.a.config.blob", strings.Repeat("y", 10<<10))
		check(t, err, "config set stacks.a.config.blob")
	})
	t.Run("at the limit", func(t *testing.T) {
		m := smallManifest("      pad: \"\"\n")
		pad := 8<<10 - len(m)
		data := smallManifest(fmt.Sprintf("      pad: %q\n", strings.Repeat("z", pad)))
		if len(data) != 8<<10 {
			t.Fatalf("test manifest is %d bytes, want exactly %d", len(data), 8<<10)
		}
		if _, _, err := a.ApplyManifest(ctx, "DSIZE01", "limit.yaml", []byte(data)); err != nil {
			t.Fatalf("a manifest of exactly the limit: %v", err)
		}
	})
}

func TestOpen_MaxManifestBytesFromEnvironment(t *testing.T) {
	ctx := context.Background()
	t.Run("default", func(t *testing.T) {
		t.Setenv(app.MaxManifestBytesEnv, "")
		a := openHome(t, t.TempDir(), app.Config{})
		data := smallManifest(bigConfig(app.DefaultMaxManifestBytes))
		_, err := a.Init(ctx, app.InitRequest{File: "big.yaml", Data: []byte(data)})
		if !errors.Is(err, app.ErrManifestTooLarge) || !strings.Contains(err.Error(), "over the limit of 1 MiB (1048576 bytes)") {
			t.Errorf("Init of %d bytes under the default limit: %v", len(data), err)
		}
	})
	t.Run("raised", func(t *testing.T) {
		t.Setenv(app.MaxManifestBytesEnv, "2MiB")
		a := openHome(t, t.TempDir(), app.Config{})
		data := smallManifest(bigConfig(app.DefaultMaxManifestBytes))
		if _, err := a.Init(ctx, app.InitRequest{File: "big.yaml", Data: []byte(data)}); err != nil {
			t.Errorf("Init of %d bytes with %s=2MiB: %v", len(data), app.MaxManifestBytesEnv, err)
		}
	})
	t.Run("lowered", func(t *testing.T) {
		t.Setenv(app.MaxManifestBytesEnv, "100")
		a := openHome(t, t.TempDir(), app.Config{})
		_, err := a.Init(ctx, app.InitRequest{File: "small.yaml", Data: []byte(smallManifest(""))})
		if !errors.Is(err, app.ErrManifestTooLarge) || !strings.Contains(err.Error(), "over the limit of 100 B (100 bytes)") {
			t.Errorf("Init with %s=100: %v", app.MaxManifestBytesEnv, err)
		}
	})
	for _, bad := range []string{"lots", "-1", "0", "1.5MiB", "9999999999GiB"} {
		t.Run("bad "+bad, func(t *testing.T) {
			t.Setenv(app.MaxManifestBytesEnv, bad)
			a, err := app.Open(ctx, app.Config{Home: t.TempDir()})
			if err == nil {
				a.Close()
				t.Fatalf("Open with %s=%s succeeded", app.MaxManifestBytesEnv, bad)
			}
			var ue *app.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), app.MaxManifestBytesEnv) {
				t.Errorf("error = %v, want a usage error naming %s", err, app.MaxManifestBytesEnv)
			}
		})
	}
}

// dbFiles returns the size of the database with its WAL.
func dbFiles(t *testing.T, home string) int64 {
	t.Helper()
	var n int64
	for _, f := range []string{"cloud.db", "cloud.db-wal"} {
		fi, err := os.Stat(filepath.Join(home, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// TestApplyManifest_StorageCost measures a real database file: an
// identical apply stores nothing, and a new revision costs about twice its
// size (the revision and the stacks' config), not eight times (copies in
// the outbox, a WAL kept at its largest).
func TestApplyManifest_StorageCost(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	cfg := app.Config{MaxManifestBytes: 8 << 20}
	a := openHome(t, home, cfg)
	a.Close()
	empty := dbFiles(t, home)

	data := []byte(smallManifest(bigConfig(4 << 20)))
	a = openHome(t, home, cfg)
	if _, err := a.Init(ctx, app.InitRequest{File: "big.yaml", Data: data}); err != nil {
		t.Fatal(err)
	}
	afterInit := dbFiles(t, home)
	for i := range 2 {
		rev, changed, err := a.ApplyManifest(ctx, "DSIZE01", "big.yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		if changed || rev != 1 {
			t.Errorf("identical apply %d: revision %d, changed %v; want 1, unchanged", i+1, rev, changed)
		}
	}
	if got := dbFiles(t, home); got > afterInit+64<<10 {
		t.Errorf("two identical applies of %d bytes grew the database from %d to %d bytes", len(data), afterInit, got)
	}
	if n := revisions(t, a, "DSIZE01"); n != 1 {
		t.Errorf("%d revisions after identical applies, want 1", n)
	}

	// A changed manifest is a new revision; its cost is bounded.
	changed := []byte(strings.Replace(string(data), "region: ${env.region}", "region: eu-west-1", 1))
	if rev, ch, err := a.ApplyManifest(ctx, "DSIZE01", "big.yaml", changed); err != nil || !ch || rev != 2 {
		t.Fatalf("changed apply: revision %d, changed %v, %v; want 2, changed", rev, ch, err)
	}
	a.Close()
	size := dbFiles(t, home)
	if limit := empty + int64(len(data))*5; size > limit {
		t.Errorf("two revisions of %d bytes take %d bytes (empty store %d), want at most %d (2.5 times each)", len(data), size, empty, limit)
	}

	db, err := sql.Open("sqlite", filepath.Join(home, "cloud.db")+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var outbox int64
	if err := db.QueryRow(`SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox`).Scan(&outbox); err != nil {
		t.Fatal(err)
	}
	if outbox > 64<<10 {
		t.Errorf("the outbox holds %d bytes of payload: it copies the manifest", outbox)
	}
}

// TestApplyManifest_InvalidNeverStored: the manifest rules of the parser
// and the planner refuse a file before anything is stored.
func TestApplyManifest_InvalidNeverStored(t *testing.T) {
	ctx := context.Background()
	a := openHome(t, t.TempDir(), app.Config{})
	if _, err := a.Init(ctx, app.InitRequest{File: "m.yaml", Data: []byte(smallManifest(""))}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, data, want string
	}{
		{"second document", smallManifest("") + "---\nstacks: {c: {}}\n",
			"m.yaml:13:1: a second YAML document starts here, but a manifest is one document"},
		{"layer below its dependencies", strings.Replace(smallManifest(""), "    dependencies: [a]\n", "    dependencies: [a]\n    layer: 0\n", 1),
			`m.yaml:13:5: stacks.b.layer: stack "b" declares layer 0, but it depends on "a", which is at layer 0, so "b" is at layer 1`},
		{"misspelled namespace", strings.Replace(smallManifest(""), "${env.region}", "${evn.region}", 1),
			`m.yaml:10:7: stacks.a.config.region: stack "a" references ${evn.region}, but "evn" is neither a stack nor a namespace (did you mean "${env.region}"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := a.ApplyManifest(ctx, "DSIZE01", "m.yaml", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if n := revisions(t, a, "DSIZE01"); n != 1 {
				t.Errorf("%d revisions, want 1: the invalid manifest was stored", n)
			}
		})
	}
}
