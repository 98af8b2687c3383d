package server_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/server"
	"github.com/cloudplatform/cloud/server/gqlws"
	"github.com/coder/websocket"
)

// TestKeepAlive: the server pings graphql-transport-ws clients; one that
// never answers is disconnected, and one that answers (gqlws does) keeps
// its subscription meanwhile.
func TestKeepAlive(t *testing.T) {
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Init(ctx, app.InitRequest{ID: "DPING01", Organization: "acme", Project: "shop"}); err != nil {
		t.Fatal(err)
	}
	const interval = 100 * time.Millisecond
	hs := httptest.NewServer(server.New(server.Config{App: a, KeepAlive: interval}).Handler())
	t.Cleanup(hs.Close)
	url := strings.Replace(hs.URL, "http://", "ws://", 1) + "/graphql"

	// gqlws answers pings: its subscription, opened first, must outlive a
	// silent client's connection, which only ends once the server's pong
	// deadline has passed.
	c, err := gqlws.Dial(ctx, url, gqlws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, _, err := c.Subscribe(ctx, `subscription { deploymentEvents(deploymentId: "DPING01") { events { seq } } }`, nil)
	if err != nil {
		t.Fatal(err)
	}

	// A silent client: it reads the pings and never answers. The guard
	// only catches a server that never disconnects it.
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{gqlws.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)); err != nil {
		t.Fatal(err)
	}
	const guard = 30 * time.Second
	pings := 0
	rctx, cancel := context.WithTimeout(ctx, guard)
	defer cancel()
	for {
		_, b, err := ws.Read(rctx)
		if err != nil {
			if rctx.Err() != nil {
				t.Fatalf("a client that never answers pings was still connected after %s", guard)
			}
			break // disconnected by the server
		}
		var m struct{ Type string }
		json.Unmarshal(b, &m)
		if m.Type == "ping" {
			pings++
		}
	}
	if pings == 0 {
		t.Fatal("the server never pinged")
	}

	select {
	case r, ok := <-sub:
		t.Fatalf("subscription ended or sent %v (open %v): %v", r, ok, c.Err())
	default:
	}
	if c.Err() != nil {
		t.Fatalf("connection ended: %v", c.Err())
	}
}
