package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/server"
	"github.com/cloudplatform/cloud/server/gqlws"
	"github.com/cloudplatform/cloud/store"
	"github.com/coder/websocket"
)

// startWS serves a home holding DLIMIT1 (the demo template) with cfg
// (App and Logger filled in) and returns its store and its ws:// URL.
func startWS(t *testing.T, cfg server.Config) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	a, db := openApp(t)
	if _, err := a.Init(ctx, app.InitRequest{ID: "DLIMIT1", Organization: "acme", Project: "shop"}); err != nil {
		t.Fatal(err)
	}
	cfg.App, cfg.Logger = a, slog.New(slog.DiscardHandler)
	hs := httptest.NewServer(server.New(cfg).Handler())
	t.Cleanup(hs.Close)
	return db, wsURL(hs.URL)
}

// rawWS is a WebSocket connection that speaks the protocol by hand, so a
// test can send what a correct client never would.
type rawWS struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialRaw(t *testing.T, url, subprotocol string) *rawWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if ws.Subprotocol() != subprotocol {
		t.Fatalf("subprotocol %q, want %q", ws.Subprotocol(), subprotocol)
	}
	return &rawWS{t: t, ws: ws}
}

func (c *rawWS) send(msg string) {
	c.t.Helper()
	if err := c.ws.Write(context.Background(), websocket.MessageText, []byte(msg)); err != nil {
		c.t.Fatalf("send %s: %v", msg, err)
	}
}

type wsMsg struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// read returns the next message; the guard deadline only catches a hang.
func (c *rawWS) read() (wsMsg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return wsMsg{}, err
	}
	var m wsMsg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("the server sent a message that is not JSON: %s", b)
	}
	return m, nil
}

// expect reads the next message and fails unless it is of type typ (and
// id, when id is not empty).
func (c *rawWS) expect(typ, id string) wsMsg {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", typ, err)
	}
	if m.Type != typ || id != "" && m.ID != id {
		c.t.Fatalf("got %s (id %q, payload %s), want %s (id %q)", m.Type, m.ID, m.Payload, typ, id)
	}
	return m
}

// init sends connection_init and waits for the ack.
func (c *rawWS) init() {
	c.t.Helper()
	c.send(`{"type":"connection_init"}`)
	c.expect("connection_ack", "")
}

// expectClose reads until the server closes and checks the close code
// and reason.
func (c *rawWS) expectClose(code int, reason string) {
	c.t.Helper()
	for {
		m, err := c.read()
		if err == nil {
			if m.Type == "ping" { // the server's keep-alive
				continue
			}
			c.t.Fatalf("got %s (id %q) where the server should close with %d", m.Type, m.ID, code)
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("the connection ended without a close frame (%v), want %d %q", err, code, reason)
		}
		if int(ce.Code) != code || reason != "" && ce.Reason != reason {
			c.t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
		}
		return
	}
}

const runningSub = `subscription { deploymentEvents(deploymentId: "DLIMIT1") { events { seq } } }`

func subscribeMsg(id, query string) string {
	b, _ := json.Marshal(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query}})
	return string(b)
}

// TestTransportWS_CloseCodes: every violation of graphql-transport-ws
// closes the socket with the code PROTOCOL.md gives it.
func TestTransportWS_CloseCodes(t *testing.T) {
	_, url := startWS(t, server.Config{})
	tests := []struct {
		name   string
		init   bool     // connection_init and wait for the ack first
		send   []string // then these
		code   int
		reason string // "" : any
	}{
		{"second connection_init", true, []string{`{"type":"connection_init"}`}, 4429, "Too many initialisation requests"},
		{"second connection_init before the ack is read", false,
			[]string{`{"type":"connection_init"}`, `{"type":"connection_init","payload":{}}`}, 4429, "Too many initialisation requests"},
		{"subscribe before connection_init", false, []string{subscribeMsg("1", runningSub)}, 4401, "Unauthorized"},
		{"duplicate id of a running subscription", true,
			[]string{subscribeMsg("a", runningSub), subscribeMsg("a", runningSub)}, 4409, "Subscriber for a already exists"},
		{"unknown message type", true, []string{`{"type":"start","id":"1","payload":{"query":"{ deployments { nodes { id } } }"}}`}, 4400, ""},
		{"a server's message type", true, []string{`{"type":"next","id":"1","payload":{}}`}, 4400, ""},
		{"no type", true, []string{`{"id":"1"}`}, 4400, ""},
		{"text that is not JSON", true, []string{`hello`}, 4400, ""},
		{"JSON that is not an object", true, []string{`["subscribe"]`}, 4400, ""},
		{"not JSON before connection_init", false, []string{`{`}, 4400, ""},
		{"unknown type before connection_init", false, []string{`{"type":"connection_start"}`}, 4400, ""},
		{"connection_init payload not an object", false, []string{`{"type":"connection_init","payload":"token"}`}, 4400, ""},
		{"subscribe without id", true, []string{`{"type":"subscribe","payload":{"query":"{ deployments { nodes { id } } }"}}`}, 4400, ""},
		{"subscribe with an empty id", true, []string{`{"type":"subscribe","id":"","payload":{"query":"{ deployments { nodes { id } } }"}}`}, 4400, ""},
		{"subscribe with a numeric id", true, []string{`{"type":"subscribe","id":1,"payload":{"query":"{ deployments { nodes { id } } }"}}`}, 4400, ""},
		{"subscribe without payload", true, []string{`{"type":"subscribe","id":"1"}`}, 4400, ""},
		{"subscribe without query", true, []string{`{"type":"subscribe","id":"1","payload":{"variables":{}}}`}, 4400, ""},
		{"subscribe with variables not an object", true, []string{`{"type":"subscribe","id":"1","payload":{"query":"{ deployments { nodes { id } } }","variables":[1]}}`}, 4400, ""},
		{"complete without id", true, []string{`{"type":"complete"}`}, 4400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, url, gqlws.Subprotocol)
			if tt.init {
				c.init()
			}
			for _, m := range tt.send {
				c.send(m)
			}
			if !tt.init && tt.code == 4429 {
				c.expect("connection_ack", "")
			}
			c.expectClose(tt.code, tt.reason)
		})
	}
}

// TestTransportWS_InitTimeout: a client that sends no connection_init is
// closed with 4408 once Config.InitTimeout has passed; the legacy
// graphql-ws keeps gqlgen's 1002.
func TestTransportWS_InitTimeout(t *testing.T) {
	_, url := startWS(t, server.Config{InitTimeout: 200 * time.Millisecond})
	dialRaw(t, url, gqlws.Subprotocol).expectClose(4408, "Connection initialisation timeout")
	dialRaw(t, url, "graphql-ws").expectClose(1002, "")

	// A ping before connection_init is answered and does not count as
	// one (the protocol allows pings at any time).
	c := dialRaw(t, url, gqlws.Subprotocol)
	c.send(`{"type":"ping","payload":{"n":1}}`)
	if m := c.expect("pong", ""); string(m.Payload) != `{"n":1}` {
		t.Errorf("pong payload %s, want the ping's", m.Payload)
	}
	c.expectClose(4408, "Connection initialisation timeout")

	// A client that sends it in time is not closed when the timeout
	// passes.
	c = dialRaw(t, url, gqlws.Subprotocol)
	c.init()
	c.send(subscribeMsg("q", `{ deployment(id: "DLIMIT1") { id } }`))
	time.Sleep(400 * time.Millisecond) // past the timeout: a bug would close now
	c.send(subscribeMsg("q2", `{ deployment(id: "DLIMIT1") { id } }`))
	for _, id := range []string{"q", "q2"} {
		c.expect("next", id)
		c.expect("complete", id)
	}
}

// TestTransportWS_Operations: what a correct client does keeps working:
// pings, queries, subscriptions, an id reused once completed, errors that
// end an operation without a complete after them.
func TestTransportWS_Operations(t *testing.T) {
	db, url := startWS(t, server.Config{})
	c := dialRaw(t, url, gqlws.Subprotocol)
	c.init()

	c.send(`{"type":"ping","payload":{"k":"v"}}`)
	if m := c.expect("pong", ""); string(m.Payload) != `{"k":"v"}` {
		t.Errorf("pong payload %s, want the ping's", m.Payload)
	}

	// A query: next, then complete; its id is free again after.
	for range 2 {
		c.send(subscribeMsg("q", `{ deployment(id: "DLIMIT1") { id } }`))
		if m := c.expect("next", "q"); !strings.Contains(string(m.Payload), `"DLIMIT1"`) {
			t.Fatalf("query result %s", m.Payload)
		}
		c.expect("complete", "q")
	}

	// An invalid operation: error, and no complete after it (a ping
	// sent after it is answered next: gqlgen writes both before reading
	// on).
	c.send(subscribeMsg("bad", `subscription { nope }`))
	c.expect("error", "bad")
	c.send(`{"type":"ping"}`)
	c.expect("pong", "")

	// A subscription completed by the client may be started again under
	// the same id at once; the new one gets the events, and nothing of
	// the old one (no complete) reaches the client.
	op := beginOperation(t, db)
	sub := func(after int64) string {
		b, _ := json.Marshal(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{
			"query":     `subscription($op: ID!, $after: Int) { operationEvents(operationId: $op, afterSeq: $after) { events { seq } } }`,
			"variables": map[string]any{"op": op.ID, "after": after}}})
		return string(b)
	}
	seqs := func(m wsMsg) []int64 {
		var p struct {
			Data struct {
				OperationEvents struct{ Events []struct{ Seq int64 } } `json:"operationEvents"`
			} `json:"data"`
		}
		json.Unmarshal(m.Payload, &p)
		var out []int64
		for _, e := range p.Data.OperationEvents.Events {
			out = append(out, e.Seq)
		}
		return out
	}
	c.send(sub(op.LastSeq))
	appendEvent(t, db, op)
	first := seqs(c.expect("next", "s"))
	if len(first) != 1 {
		t.Fatalf("first subscription: events %v, want one", first)
	}
	c.send(`{"type":"complete","id":"s"}`)
	c.send(sub(first[0]))
	appendEvent(t, db, op)
	if got := seqs(c.expect("next", "s")); len(got) != 1 || got[0] <= first[0] {
		t.Fatalf("second subscription: events %v, want the one after %d", got, first[0])
	}
	c.send(`{"type":"complete","id":"s"}`)
	c.send(`{"type":"complete","id":"never-started"}`) // ignored
	c.send(`{"type":"ping"}`)
	c.expect("pong", "")
	c.ws.Close(websocket.StatusNormalClosure, "")
}

// TestTransportWS_LegacyProtocol: the older graphql-ws subprotocol is
// still served as gqlgen serves it.
func TestTransportWS_LegacyProtocol(t *testing.T) {
	_, url := startWS(t, server.Config{})
	c := dialRaw(t, url, "graphql-ws")
	c.send(`{"type":"connection_init"}`)
	c.expect("connection_ack", "")
	c.send(`{"type":"start","id":"1","payload":{"query":"{ deployment(id: \"DLIMIT1\") { id } }"}}`)
	for {
		m, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == "ka" {
			continue
		}
		if m.Type != "data" || m.ID != "1" {
			t.Fatalf("got %s %q, want data for 1", m.Type, m.ID)
		}
		break
	}
	c.expect("complete", "1")
}
