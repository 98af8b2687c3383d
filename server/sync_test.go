package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/server/servertest"
	"github.com/cloudplatform/cloud/sync/dynamotest"
)

// TestServeSyncsInTheBackground: with team sync configured, `cloud serve`
// pushes what its API writes without anyone running `cloud sync`; another
// machine pulls it; /readyz and /metrics report the loop.
func TestServeSyncsInTheBackground(t *testing.T) {
	db := dynamotest.Start(t)
	table := dynamotest.TableName(t)
	h1, h2 := t.TempDir(), t.TempDir()
	for _, h := range []string{h1, h2} {
		servertest.MustCloud(t, h, "sync", "configure", "--table", table, "--region", "us-east-1",
			"--endpoint", db.Endpoint, "--interval", "200ms")
	}
	servertest.MustCloud(t, h1, "sync", "init-table")
	srv := servertest.Start(t, h1)

	rest(t, "POST", srv.URL+"/api/v1/deployments", map[string]any{"id": "DBGSYNC", "organization": "acme", "project": "shop"}, http.StatusCreated, nil)

	// The other machine sees it once the server's loop pushed it.
	deadline := time.Now().Add(time.Minute)
	for {
		servertest.MustCloud(t, h2, "sync")
		if strings.Contains(servertest.MustCloud(t, h2, "list").Stdout, "DBGSYNC") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never pushed DBGSYNC; its log:\n%s", srv.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}

	var ready struct {
		Status string
		Checks map[string]map[string]any
	}
	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(body, &ready); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d %s (%v)", res.StatusCode, body, err)
	}
	sync := ready.Checks["sync"]
	if sync["status"] != "ok" || sync["running"] != true || sync["lastPush"] == nil || sync["lastPull"] == nil {
		t.Errorf("/readyz sync check: %v", sync)
	}

	res, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, name := range []string{"cloud_sync_pending_changes", "cloud_sync_last_push_timestamp_seconds",
		"cloud_sync_last_pull_timestamp_seconds", "cloud_sync_open_conflicts", "cloud_sync_healthy 1"} {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	// The table goes away: sync degrades, the server still serves.
	db.Kill()
	deadline = time.Now().Add(time.Minute)
	for {
		res, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("/readyz with the table gone: %d %s", res.StatusCode, body)
		}
		_ = json.Unmarshal(body, &ready)
		if ready.Checks["sync"]["status"] == "degraded" && ready.Checks["sync"]["error"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync never reported degraded: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rest(t, "POST", srv.URL+"/api/v1/deployments", map[string]any{"id": "DOFFLN1", "organization": "acme", "project": "shop"}, http.StatusCreated, nil)
}
