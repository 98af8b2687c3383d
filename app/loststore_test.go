package app_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/app"
)

// TestOpen_ZeroLengthStoreBesideState: an empty cloud.db next to the
// Pulumi state of a stack is refused, saying what was found and what to
// do; an empty cloud.db in a home with no state is a new store.
func TestOpen_ZeroLengthStoreBesideState(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "cloud.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := app.Open(ctx, app.Config{Home: home})
	if err != nil {
		t.Fatalf("empty cloud.db, no state: %v", err)
	}
	a.Close()

	home = t.TempDir()
	stack := filepath.Join(home, "state", ".pulumi", "stacks", "DSLOW01-acme-slow", "dev-a.json")
	if err := os.MkdirAll(filepath.Dir(stack), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stack, []byte(`{"version": 3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "cloud.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = app.Open(ctx, app.Config{Home: home})
	if !errors.Is(err, app.ErrStoreLost) {
		t.Fatalf("Open: %v, want ErrStoreLost", err)
	}
	for _, want := range []string{"cloud.db is empty (0 bytes)", "1 stack(s) (DSLOW01-acme-slow/dev-a)", "Restore cloud.db from a backup", "move "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(home, "cloud.db")); err != nil || fi.Size() != 0 {
		t.Errorf("the refused store was written: %v %v", fi, err)
	}
}
