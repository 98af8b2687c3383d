package monitor

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":          "http://127.0.0.1:8080/graphql",
		"http://127.0.0.1:8080/":         "http://127.0.0.1:8080/graphql",
		"https://cloud.example.com/gql":  "https://cloud.example.com/gql",
		"ws://127.0.0.1:8080/graphql":    "ws://127.0.0.1:8080/graphql",
		"https://cloud.example.com:8443": "https://cloud.example.com:8443/graphql",
	} {
		if got := (Remote{URL: in}).Endpoint(); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestRemoteBackoff: with no server, the source reports reconnecting with
// growing waits and gives up after GiveUp.
func TestRemoteBackoff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := Remote{URL: "http://" + addr, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, GiveUp: 300 * time.Millisecond}
	var waits []time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = r.Stream(ctx, Filter{OperationID: "op-x"}, 0, func(u Update) {
		if u.Status != "reconnecting" || u.Err == nil {
			t.Errorf("update %+v", u)
		}
		waits = append(waits, u.Retry)
	})
	if err == nil || !strings.Contains(err.Error(), "giving up") {
		t.Fatalf("err %v", err)
	}
	if len(waits) < 3 {
		t.Fatalf("%d attempts", len(waits))
	}
	for _, w := range waits {
		if w < 5*time.Millisecond || w > 40*time.Millisecond {
			t.Errorf("wait %s out of [5ms, 40ms]", w)
		}
	}
	// Cancelled: ctx.Err().
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := (Remote{URL: "http://" + addr}).Stream(ctx, Filter{OperationID: "op-x"}, 0, func(Update) {}); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}
