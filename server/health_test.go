package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloudplatform/cloud/server"
)

// TestReadyz: /readyz is 200 while the store answers a read, and 503 with
// the store check failing (its error named) once it does not; /healthz,
// the liveness probe, stays 200.
func TestReadyz(t *testing.T) {
	a, db := openApp(t)
	hs := httptest.NewServer(server.New(server.Config{App: a, Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer hs.Close()
	type ready struct {
		Status string
		Checks map[string]map[string]any
	}
	get := func(path string) (int, ready) {
		t.Helper()
		res, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		var r ready
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
		return res.StatusCode, r
	}
	if code, r := get("/readyz"); code != http.StatusOK || r.Status != "ok" || r.Checks["store"]["status"] != "ok" {
		t.Fatalf("/readyz with a working store: %d %+v", code, r)
	}
	// The store stops answering (closed under the server).
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	code, r := get("/readyz")
	if code != http.StatusServiceUnavailable || r.Status != "failing" {
		t.Errorf("/readyz with the store gone: %d %+v, want 503 failing", code, r)
	}
	if st := r.Checks["store"]; st["status"] != "failing" || st["error"] == "" || st["error"] == nil {
		t.Errorf("store check: %v, want failing with its error", st)
	}
	if r.Checks["sync"]["status"] != "off" || r.Checks["operations"]["status"] != "ok" {
		t.Errorf("other checks: %v", r.Checks)
	}
	if code, r := get("/healthz"); code != http.StatusOK || r.Status != "ok" {
		t.Errorf("/healthz with the store gone: %d %+v, want 200", code, r)
	}
}
