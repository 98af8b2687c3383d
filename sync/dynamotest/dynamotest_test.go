package dynamotest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/sync/dynamotest"
	"github.com/cloudplatform/cloud/sync/remote"
)

func TestServer_KillRestart(t *testing.T) {
	ctx := context.Background()
	srv := dynamotest.Start(t)
	if !strings.HasPrefix(srv.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("Endpoint = %q", srv.Endpoint)
	}
	tbl := srv.NewTable(t)
	if err := tbl.Check(ctx); err != nil {
		t.Fatal(err)
	}
	other := srv.NewTable(t)
	if other.Name() == tbl.Name() {
		t.Errorf("two tables named %q", tbl.Name())
	}

	srv.Kill()
	dead, err := remote.Open(ctx, remote.Config{Table: tbl.Name(), Region: "us-east-1", Endpoint: srv.Endpoint},
		remote.WithRetry(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := dead.Check(ctx); err == nil {
		t.Fatal("Check after Kill succeeded")
	}
	// Restarted: the same endpoint, an empty server.
	srv.Restart()
	if err := tbl.Check(ctx); !errors.Is(err, remote.ErrTableMissing) {
		t.Fatalf("Check after Restart = %v, want ErrTableMissing", err)
	}
}

func TestPath_Missing(t *testing.T) {
	t.Setenv(dynamotest.EnvPath, "/nonexistent/dynalite")
	_, err := dynamotest.Path()
	if err == nil || !strings.Contains(err.Error(), "dynalite not installed") {
		t.Fatalf("Path = %v", err)
	}
	t.Setenv(dynamotest.EnvPath, "")
	t.Chdir(t.TempDir()) // no go.mod above: the install hint
	_, err = dynamotest.Path()
	if err == nil || err.Error() != "dynalite not installed: run tools/install/dynamodb-local.sh (make dynamodb)" {
		t.Fatalf("Path outside the repository = %v", err)
	}
}
