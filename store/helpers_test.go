package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/cloudplatform/cloud/store"
)

// openStore opens a store in a fresh temporary directory.
func openStore(t testing.TB) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "cloud.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// rawDB opens the database file directly, bypassing the store.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

const manifestV1 = "deployment_id: D1BRV40\norganization: acme\nproject: shop\n"

// saveDeployment saves a deployment D1BRV40 with dev and prod and two stacks.
func saveDeployment(t testing.TB, db *store.DB) {
	t.Helper()
	d := store.Deployment{ID: "D1BRV40", Organization: "acme", Project: "shop", Domain: "shop.example.com",
		Template: "default", Backend: "file:///tmp/state"}
	envs := []store.Environment{
		{Name: "dev", Enabled: true, Region: "us-east-1", AccountID: "111111111111"},
		{Name: "prod", Enabled: false, Region: "us-west-2", AccountID: "222222222222"},
	}
	stacks := []store.DeploymentStack{
		{Name: "network", Program: "network", Enabled: true, Config: map[string]any{"cidr": "10.0.0.0/16"}},
		{Name: "database", Program: "database", Enabled: true, Dependencies: []string{"network"}, Layer: 1},
	}
	if _, _, err := db.SaveManifest(context.Background(), d, manifestV1, "alice", envs, stacks); err != nil {
		t.Fatalf("SaveManifest: %v", err)
	}
}

// beginOp starts a deploy of D1BRV40/dev owned by this process.
func beginOp(t testing.TB, db *store.DB) *store.Operation {
	t.Helper()
	op := &store.Operation{DeploymentID: "D1BRV40", Environment: "dev", Kind: "deploy", Actor: "alice", Command: "cloud deploy"}
	if err := db.BeginOperation(context.Background(), op); err != nil {
		t.Fatalf("BeginOperation: %v", err)
	}
	return op
}
