package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/server/servertest"
)

const slowManifest = `version: 1
deployment_id: DSLOW01
organization: acme
project: slow
environments:
  dev: {region: eu-west-1}
stacks:
  quick: {program: probe, config: {greeting: hi}}
  slow: {program: probe, dependencies: [quick], config: {delaySeconds: %s}}
`

func initSlow(t *testing.T, home, delay string) {
	t.Helper()
	file := filepath.Join(home, "slow.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(slowManifest, delay)), 0o600); err != nil {
		t.Fatal(err)
	}
	servertest.MustCloud(t, home, "init", "--from-file", file)
}

// lastOperation reads the newest operation of DSLOW01 through the CLI,
// after the server is gone.
func lastOperation(t *testing.T, home string) string {
	t.Helper()
	var page struct{ Items []struct{ ID, Status string } }
	out := servertest.MustCloud(t, home, "history", "DSLOW01", "-o", "json").Stdout
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Items) == 0 {
		t.Fatalf("history: %v: %s", err, out)
	}
	return page.Items[0].Status
}

// TestShutdownCancelsRunningOperations: SIGTERM with a short grace cancels
// an operation still running through the Pulumi engine; it is recorded
// cancelled, never left running, and the environment is free again.
func TestShutdownCancelsRunningOperations(t *testing.T) {
	home := t.TempDir()
	initSlow(t, home, "600")
	srv := servertest.Start(t, home, "--shutdown-grace", "1s")
	var op struct{ ID string }
	rest(t, "POST", srv.URL+"/api/v1/deployments/DSLOW01/environments/dev/deploy", nil, http.StatusAccepted, &op)
	// Wait until the slow stack runs, then stop the server.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var data struct {
			Operation struct {
				Stacks []struct{ Stack, Status string }
			} `json:"operation"`
		}
		gql(t, srv.URL, `query($id: ID!) { operation(id: $id) { stacks { stack status } } }`, map[string]any{"id": op.ID}, &data)
		running := false
		for _, s := range data.Operation.Stacks {
			running = running || (s.Stack == "slow" && s.Status == "deploying")
		}
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow stack never started: %+v", data)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A CLI process sharing the home cannot start a second operation on
	// the environment while the server runs one.
	if r := servertest.Cloud(t, home, "deploy", "DSLOW01", "-e", "dev"); r.Code == 0 || !strings.Contains(r.Stderr, op.ID) {
		t.Fatalf("CLI deploy during the server's: exit %d, stderr %s (want a refusal naming %s)", r.Code, r.Stderr, op.ID)
	}
	// Stop fails the test if the server has not exited two minutes after
	// SIGTERM: the slow stack sleeps for 600 s, so only a real
	// cancellation of the program ends it in time.
	srv.Stop(t)
	if status := lastOperation(t, home); status != "cancelled" {
		t.Fatalf("operation after shutdown is %q, want cancelled", status)
	}
	// The environment is free: a lock (an operation of its own) is taken.
	servertest.MustCloud(t, home, "lock", "DSLOW01", "-e", "dev", "--reason", "after shutdown")
}

// TestShutdownLetsOperationsFinish: within the grace period a running
// operation finishes and is recorded succeeded.
func TestShutdownLetsOperationsFinish(t *testing.T) {
	home := t.TempDir()
	initSlow(t, home, "3")
	srv := servertest.Start(t, home, "--shutdown-grace", "2m")
	var op struct{ ID string }
	rest(t, "POST", srv.URL+"/api/v1/deployments/DSLOW01/environments/dev/deploy", nil, http.StatusAccepted, &op)
	srv.Stop(t)
	if status := lastOperation(t, home); status != "succeeded" {
		t.Fatalf("operation after a graceful shutdown is %q, want succeeded", status)
	}
}
