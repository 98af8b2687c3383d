package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/server"
)

// BenchmarkRefuseLargeQuery measures what refusing an oversized document
// costs the server, against its size: `{ deployment(id: "…") { id id … } }`
// with n fields, posted to the server's handler (body limit, the HTTP
// checks, the bound, the error response; no network). "bounded" is the
// server as it runs; "unbounded" turns the document bounds off, so the
// complexity limit refuses it after gqlgen's validation, as before the
// bounds (only small sizes: 10,000 fields take seconds). Figures in
// docs/performance.md.
func BenchmarkRefuseLargeQuery(b *testing.B) {
	a, err := app.Open(context.Background(), app.Config{Home: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	handler := func(lim server.Limits) func(*testing.B, string, string) {
		lim.RatePerSecond, lim.MaxBodyBytes = -1, 8<<20
		h := server.New(server.Config{App: a, Logger: slog.New(slog.DiscardHandler), Limits: lim}).Handler()
		return func(b *testing.B, body, wantCode string) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if !strings.Contains(w.Body.String(), `"code":"`+wantCode+`"`) {
					b.Fatalf("%d %.300s, want %s", w.Code, w.Body.String(), wantCode)
				}
			}
		}
	}
	body := func(n int) string {
		q, _ := json.Marshal(map[string]string{"query": `{ deployment(id: "D000001") {` + strings.Repeat(" id", n) + ` } }`})
		return string(q)
	}
	bounded := handler(server.Limits{})
	unbounded := handler(server.Limits{MaxQueryTokens: -1, MaxSelections: -1, MaxAliases: -1})
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("bounded/fields=%d", n), func(b *testing.B) { bounded(b, body(n), server.CodeQueryTooLarge) })
	}
	for _, n := range []int{1_000, 2_000} {
		b.Run(fmt.Sprintf("unbounded/fields=%d", n), func(b *testing.B) { unbounded(b, body(n), "COMPLEXITY_LIMIT_EXCEEDED") })
	}
}
