package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// The close codes of graphql-transport-ws (the protocol's PROTOCOL.md).
const (
	closeBadRequest         = 4400 // a message of a type or shape the protocol does not define
	closeUnauthorized       = 4401 // subscribe before connection_ack
	closeInitTimeout        = 4408 // no connection_init within the init timeout
	closeSubscriberExists   = 4409 // subscribe with the id of a running operation
	closeTooManyInitRequest = 4429 // a second connection_init
)

// DefaultInitTimeout is how long a WebSocket client has to send its
// connection_init after the upgrade (Config.InitTimeout).
const DefaultInitTimeout = 10 * time.Second

// transportWSSubprotocol is the subprotocol whose rules wsAcceptor
// enforces; gqlgen serves the legacy graphql-ws as it always has.
const transportWSSubprotocol = "graphql-transport-ws"

// errClosedByProtocol is what gqlgen's transport reads once the connection
// was closed for breaking the protocol: it then tears the connection down
// without writing a close frame of its own (the one sent stands).
var errClosedByProtocol = fmt.Errorf("closed for a protocol violation: %w", net.ErrClosed)

// wsAcceptor accepts WebSocket connections for gqlgen's transport and
// holds graphql-transport-ws to its specification, which gqlgen does not:
// gqlgen closes with 1002 where the protocol has 4429, 4401 and 4408,
// with 1000 where it has 4400, accepts a subscribe without an id, and
// runs two operations of one id. Every client message is checked here
// before gqlgen reads it, and every server message seen on its way out,
// so the connection's state (initialised, acknowledged, the running
// operations) is known without touching gqlgen's internals.
type wsAcceptor struct {
	initTimeout time.Duration
}

var _ transport.WebsocketImplementation = wsAcceptor{}

// Accept upgrades the request; the init timer starts now.
func (a wsAcceptor) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	for k, vs := range opts.ResponseHeader {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: opts.Subprotocols})
	if err != nil {
		return nil, err
	}
	c := &wsConn{ws: ws, strict: ws.Subprotocol() == transportWSSubprotocol,
		byClient: map[string]string{}, ops: map[string]*wsOp{}}
	if a.initTimeout > 0 {
		c.initTimer = time.AfterFunc(a.initTimeout, c.initTimedOut)
	}
	return c, nil
}

// wsConn is one connection as gqlgen's transport sees it. For
// graphql-transport-ws it renames operation ids between the client and
// gqlgen: a client may reuse an id as soon as it has completed it, while
// gqlgen may still be tearing the old operation down under that id (and
// would then cancel and complete the new one in its place).
type wsConn struct {
	ws     *websocket.Conn
	strict bool // graphql-transport-ws: enforce the protocol

	mu           sync.Mutex
	initReceived bool
	acked        bool
	closing      bool              // a close handshake runs (or ran) in the background
	byClient     map[string]string // the client's id of each running operation -> gqlgen's
	ops          map[string]*wsOp  // gqlgen's id -> the operation
	nextSuffix   int
	initTimer    *time.Timer
	readDeadline *time.Timer
}

// wsOp is one operation as gqlgen knows it, from its subscribe until
// gqlgen sends its complete. Once the client completes it, or an error
// ends it, nothing more of it reaches the client (the protocol says so;
// gqlgen sends a complete anyway).
type wsOp struct {
	client    string
	completed bool // by the client
	ended     bool // by an error sent to the client
}

var (
	_ transport.WebsocketConn          = (*wsConn)(nil)
	_ transport.WebsocketReadLimiter   = (*wsConn)(nil)
	_ transport.WebsocketReadDeadliner = (*wsConn)(nil)
)

// wsMessage is a protocol message; Payload stays raw so it is forwarded
// byte for byte.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (c *wsConn) Subprotocol() string { return c.ws.Subprotocol() }

func (c *wsConn) SetReadLimit(limit int64) { c.ws.SetReadLimit(limit) }

// SetReadDeadline drops the connection at t unless called again first:
// gqlgen uses it to drop clients that stop answering pings.
func (c *wsConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readDeadline != nil {
		c.readDeadline.Stop()
		c.readDeadline = nil
	}
	if !t.IsZero() {
		c.readDeadline = time.AfterFunc(time.Until(t), func() { _ = c.ws.CloseNow() })
	}
	return nil
}

// NextReader returns the next client message gqlgen is to see. Messages
// the protocol forbids close the connection with their code; pings
// before connection_init are answered here (gqlgen takes only an init
// first), and a complete of an operation that is not running is dropped.
func (c *wsConn) NextReader() (int, io.Reader, error) {
	for {
		typ, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			closing := c.closing
			c.mu.Unlock()
			switch {
			case closing:
				return int(typ), nil, errClosedByProtocol
			case websocket.CloseStatus(err) == websocket.StatusNormalClosure,
				websocket.CloseStatus(err) == websocket.StatusNoStatusRcvd:
				return int(typ), nil, transport.ErrWebsocketClosed
			}
			return int(typ), nil, err
		}
		if !c.strict {
			c.mu.Lock()
			c.initReceived = true // gqlgen checks what the first message is
			c.stopInitTimer()
			c.mu.Unlock()
			return int(typ), bytes.NewReader(b), nil
		}
		out, code, reason := c.inspect(b)
		if code != 0 {
			c.closeWith(code, reason)
			return int(typ), nil, errClosedByProtocol
		}
		if out != nil {
			return int(typ), bytes.NewReader(out), nil
		}
	}
}

// inspect checks one graphql-transport-ws client message against the
// protocol and the connection's state. It returns the message to hand to
// gqlgen (nil: none, read the next), or the close code and reason.
func (c *wsConn) inspect(b []byte) (out []byte, code int, reason string) {
	out, reply, code, reason := c.check(b)
	if reply != nil {
		_ = c.ws.Write(context.Background(), websocket.MessageText, reply)
	}
	return out, code, reason
}

// check is inspect but for the answer to send the client (reply), which
// inspect writes once c.mu is released.
func (c *wsConn) check(b []byte) (out, reply []byte, code int, reason string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return nil, nil, closeBadRequest, "Invalid message received: not a JSON object"
	}
	var m wsMessage
	if err := json.Unmarshal(fields["type"], &m.Type); err != nil {
		return nil, nil, closeBadRequest, "Invalid message received: 'type' is not a string"
	}
	if raw, ok := fields["id"]; ok {
		if err := json.Unmarshal(raw, &m.ID); err != nil {
			return nil, nil, closeBadRequest, fmt.Sprintf("Invalid message received: %q message's 'id' is not a string", limitReason(m.Type, 40))
		}
	}
	m.Payload = fields["payload"]
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m.Type {
	case "connection_init":
		if c.initReceived {
			return nil, nil, closeTooManyInitRequest, "Too many initialisation requests"
		}
		if !isObjectOrNull(m.Payload) {
			return nil, nil, closeBadRequest, `Invalid message received: "connection_init" payload is not an object`
		}
		c.initReceived = true
		c.stopInitTimer()
		return b, nil, 0, ""
	case "ping":
		if !isObjectOrNull(m.Payload) {
			return nil, nil, closeBadRequest, `Invalid message received: "ping" payload is not an object`
		}
		if !c.initReceived {
			// The protocol allows a ping at any time; gqlgen's transport
			// would take it for a bad connection_init.
			pong, _ := json.Marshal(wsMessage{Type: "pong", Payload: m.Payload})
			return nil, pong, 0, ""
		}
		return b, nil, 0, ""
	case "pong":
		if !isObjectOrNull(m.Payload) {
			return nil, nil, closeBadRequest, `Invalid message received: "pong" payload is not an object`
		}
		if !c.initReceived {
			return nil, nil, 0, ""
		}
		return b, nil, 0, ""
	case "subscribe":
		if m.ID == "" {
			return nil, nil, closeBadRequest, `Invalid message received: "subscribe" needs a non-empty 'id'`
		}
		if reason := checkSubscribePayload(m.Payload); reason != "" {
			return nil, nil, closeBadRequest, reason
		}
		if !c.acked {
			return nil, nil, closeUnauthorized, "Unauthorized"
		}
		if _, running := c.byClient[m.ID]; running {
			return nil, nil, closeSubscriberExists, "Subscriber for " + limitReason(m.ID, 80) + " already exists"
		}
		id := m.ID
		for c.ops[id] != nil { // gqlgen still ends an operation the client completed under this id
			c.nextSuffix++
			id = m.ID + "#" + strconv.Itoa(c.nextSuffix)
		}
		c.byClient[m.ID] = id
		c.ops[id] = &wsOp{client: m.ID}
		return rename(b, m, id), nil, 0, ""
	case "complete":
		if m.ID == "" {
			return nil, nil, closeBadRequest, `Invalid message received: "complete" needs a non-empty 'id'`
		}
		id, running := c.byClient[m.ID]
		if !running {
			return nil, nil, 0, "" // it ended already; the protocol asks nothing more
		}
		delete(c.byClient, m.ID)
		c.ops[id].completed = true
		return rename(b, m, id), nil, 0, ""
	}
	return nil, nil, closeBadRequest, "Invalid message received: unexpected type " + strconv.Quote(limitReason(m.Type, 40))
}

// checkSubscribePayload says what is wrong with a subscribe payload, ""
// when nothing: an object with a query string, and variables,
// operationName and extensions of their types when present.
func checkSubscribePayload(raw json.RawMessage) string {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil || p == nil {
		return `Invalid message received: "subscribe" needs a 'payload' object`
	}
	var query string
	if err := json.Unmarshal(p["query"], &query); err != nil {
		return `Invalid message received: "subscribe" payload needs a 'query' string`
	}
	for _, f := range []string{"variables", "extensions"} {
		if v, ok := p[f]; ok && !isObjectOrNull(v) {
			return `Invalid message received: "subscribe" payload's '` + f + `' is not an object`
		}
	}
	if v, ok := p["operationName"]; ok && !bytes.Equal(v, []byte("null")) {
		var name string
		if json.Unmarshal(v, &name) != nil {
			return `Invalid message received: "subscribe" payload's 'operationName' is not a string`
		}
	}
	return ""
}

// isObjectOrNull reports whether raw is absent, null or a JSON object.
func isObjectOrNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return true
	}
	return raw[0] == '{' // valid JSON: the whole message decoded
}

// rename returns the message b (decoded as m) with id instead of m.ID;
// b itself when they are the same, as they are unless an id is reused.
func rename(b []byte, m wsMessage, id string) []byte {
	if id == m.ID {
		return b
	}
	m.ID = id
	out, _ := json.Marshal(m)
	return out
}

// WriteJSON sends a server message, seeing acknowledgements and the ends
// of operations on the way: the end frees the client's id, and nothing is
// sent for an operation the client completed.
func (c *wsConn) WriteJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if c.strict {
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return net.ErrClosed
		}
		send := true
		switch m.Type {
		case "connection_ack":
			c.acked = true
		case "next", "error", "complete":
			if op := c.ops[m.ID]; op != nil {
				send = !op.completed && !op.ended
				if send {
					b = rename(b, m, op.client)
				}
				if m.Type != "next" && !op.completed && !op.ended {
					delete(c.byClient, op.client)
				}
				switch m.Type {
				case "error":
					// gqlgen follows an error with a complete, which the
					// protocol forbids: it is dropped, and the entry waits
					// for it.
					op.ended = true
				case "complete":
					delete(c.ops, m.ID)
				}
			}
		}
		c.mu.Unlock()
		if !send {
			return nil
		}
	}
	return c.ws.Write(context.Background(), websocket.MessageText, b)
}

// WriteClose closes with code and reason unless a close is under way (the
// protocol's code stands over gqlgen's generic one). The handshake runs in
// the background: it waits up to five seconds for the client's answer.
func (c *wsConn) WriteClose(code int, reason string) error {
	c.closeWith(code, reason)
	return nil
}

func (c *wsConn) closeWith(code int, reason string) {
	if len(reason) > 123 { // a close frame's reason has at most 123 bytes
		reason = reason[:123]
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.stopInitTimer()
	c.mu.Unlock()
	go func() { _ = c.ws.Close(websocket.StatusCode(code), reason) }()
}

// Close drops the connection unless a close handshake owns its end.
func (c *wsConn) Close() error {
	c.mu.Lock()
	closing := c.closing
	c.stopInitTimer()
	if c.readDeadline != nil {
		c.readDeadline.Stop()
	}
	c.mu.Unlock()
	if closing {
		return nil
	}
	return c.ws.CloseNow()
}

// initTimedOut closes a connection that sent no connection_init in time.
// The legacy graphql-ws has no code of its own for it: 1002, as gqlgen
// closes.
func (c *wsConn) initTimedOut() {
	c.mu.Lock()
	received := c.initReceived
	c.mu.Unlock()
	if received {
		return
	}
	if c.strict {
		c.closeWith(closeInitTimeout, "Connection initialisation timeout")
		return
	}
	c.closeWith(int(websocket.StatusProtocolError), "connection initialisation timeout")
}

// stopInitTimer; c.mu is held.
func (c *wsConn) stopInitTimer() {
	if c.initTimer != nil {
		c.initTimer.Stop()
	}
}

// limitReason cuts s to n bytes for a close reason (a close frame holds
// 123).
func limitReason(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
