package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// healthz answers as long as the process serves: a liveness probe.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readyz checks what serving needs: the store answers a read. It reports
// each check so an operator sees which one failed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]any{}
	status, code := "ok", http.StatusOK
	if _, err := s.cfg.App.LastEventSeq(ctx); err != nil {
		checks["store"] = map[string]any{"status": "failing", "error": err.Error()}
		status, code = "failing", http.StatusServiceUnavailable
	} else {
		checks["store"] = map[string]any{"status": "ok"}
	}
	st := s.hub.Stats()
	checks["subscriptions"] = map[string]any{"status": "ok", "subscribers": st.Subscribers}
	checks["operations"] = map[string]any{"status": "ok", "running": len(s.cfg.App.Running())}
	checks["sync"] = syncCheck(s.cfg.Sync)
	writeJSON(w, code, map[string]any{"status": status, "checks": checks,
		"uptimeSeconds": int(time.Since(s.started).Seconds())})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// syncCheck reports team sync. A sync that cannot reach its table is
// "degraded", not failing: the server works on its local store regardless
// (local-first), so readiness does not depend on it.
func syncCheck(st SyncState) map[string]any {
	if st == nil {
		return map[string]any{"status": "off"}
	}
	c := map[string]any{"status": "ok", "running": st.Running(), "pendingChanges": st.PendingOutbox(),
		"openConflicts": st.OpenConflicts()}
	if t := st.LastPush(); !t.IsZero() {
		c["lastPush"] = t.UTC().Format(time.RFC3339Nano)
	}
	if t := st.LastPull(); !t.IsZero() {
		c["lastPull"] = t.UTC().Format(time.RFC3339Nano)
	}
	if at, err := st.LastError(); err != nil {
		c["status"], c["error"], c["errorAt"] = "degraded", err.Error(), at.UTC().Format(time.RFC3339Nano)
	} else if !st.Running() {
		c["status"] = "degraded"
	}
	return c
}
