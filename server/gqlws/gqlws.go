// Package gqlws is a client of the graphql-transport-ws protocol (GraphQL
// subscriptions over WebSocket), as `cloud serve` speaks it. It carries one
// connection with any number of subscriptions and answers the server's
// pings.
package gqlws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/coder/websocket"
)

// Subprotocol is the WebSocket subprotocol name of graphql-transport-ws.
const Subprotocol = "graphql-transport-ws"

// message is one protocol message.
type message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Conn is one graphql-transport-ws connection.
type Conn struct {
	ws     *websocket.Conn
	mu     sync.Mutex
	subs   map[string]*subscription
	nextID int
	done   chan struct{}
	err    error // why the connection ended
}

// subscription is one running subscription. Its channel is closed once,
// by whoever ends it first: the server (complete, error), the
// connection's end, or the client's stop (the protocol has the server
// send nothing after a client's complete, so stop cannot wait for one).
type subscription struct {
	ch      chan Result
	stopped chan struct{} // closed by stop: a blocked send gives up

	mu     sync.Mutex // held while sending on ch and when closing it
	closed bool
}

// end closes the channel unless it is closed already.
func (s *subscription) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

// Result is one message of a subscription: data, or the errors that ended
// it.
type Result struct {
	Data   json.RawMessage
	Errors []GraphQLError
}

// GraphQLError is an error as GraphQL returns it.
type GraphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func (e GraphQLError) Error() string {
	if code, ok := e.Extensions["code"].(string); ok {
		return code + ": " + e.Message
	}
	return e.Message
}

// Options configure Dial.
type Options struct {
	// Header is sent with the upgrade request (e.g. Authorization).
	Header http.Header
	// InitPayload is the connection_init payload (e.g. a token).
	InitPayload map[string]any
	// ReadLimit bounds one message (default 16 MiB).
	ReadLimit int64
}

// Dial connects to url (ws:// or wss://, or http(s):// which is turned
// into the WebSocket scheme) and completes the connection_init handshake.
func Dial(ctx context.Context, url string, opts Options) (*Conn, error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{Subprotocol},
		HTTPHeader:   opts.Header,
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("connect %s: %s: %w", url, resp.Status, err)
		}
		return nil, fmt.Errorf("connect %s: %w", url, err)
	}
	if ws.Subprotocol() != Subprotocol {
		ws.Close(websocket.StatusProtocolError, "subprotocol")
		return nil, fmt.Errorf("connect %s: server does not speak %s", url, Subprotocol)
	}
	limit := opts.ReadLimit
	if limit == 0 {
		limit = 16 << 20
	}
	ws.SetReadLimit(limit)
	c := &Conn{ws: ws, subs: map[string]*subscription{}, done: make(chan struct{})}
	init, _ := json.Marshal(opts.InitPayload)
	if opts.InitPayload == nil {
		init = []byte("{}")
	}
	if err := c.write(ctx, message{Type: "connection_init", Payload: init}); err != nil {
		ws.CloseNow()
		return nil, err
	}
	for {
		var m message
		if err := c.read(ctx, &m); err != nil {
			ws.CloseNow()
			return nil, fmt.Errorf("connection_init: %w", err)
		}
		if m.Type == "connection_ack" {
			break
		}
		if m.Type == "ping" {
			if err := c.write(ctx, message{Type: "pong"}); err != nil {
				ws.CloseNow()
				return nil, err
			}
		}
	}
	go c.loop()
	return c, nil
}

func (c *Conn) write(ctx context.Context, m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *Conn) read(ctx context.Context, m *message) error {
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, m)
}

// loop reads messages and routes them to their subscriptions until the
// connection ends, then closes every subscription's channel.
func (c *Conn) loop() {
	ctx := context.Background()
	var err error
loop:
	for {
		var m message
		if err = c.read(ctx, &m); err != nil {
			break
		}
		switch m.Type {
		case "ping":
			if err = c.write(ctx, message{Type: "pong"}); err != nil {
				break loop
			}
		case "next":
			var r Result
			if json.Unmarshal(m.Payload, &r) == nil {
				c.deliver(m.ID, r, false)
			}
		case "error":
			var errs []GraphQLError
			_ = json.Unmarshal(m.Payload, &errs)
			c.deliver(m.ID, Result{Errors: errs}, true)
		case "complete":
			c.deliver(m.ID, Result{}, true)
		}
	}
	c.mu.Lock()
	c.err = err
	subs := c.subs
	c.subs = map[string]*subscription{}
	c.mu.Unlock()
	close(c.done)
	for _, sub := range subs {
		sub.end()
	}
}

// deliver hands r to subscription id; last ends it. The channel is
// unbuffered beyond its capacity: a subscriber that stops reading holds
// the connection (and so the server's sending) back, which is the
// back-pressure the server's overflow handling is for.
func (c *Conn) deliver(id string, r Result, last bool) {
	c.mu.Lock()
	sub, ok := c.subs[id]
	if ok && last {
		delete(c.subs, id)
	}
	c.mu.Unlock()
	if !ok {
		return
	}
	if r.Data != nil || r.Errors != nil {
		sub.mu.Lock()
		if !sub.closed {
			select {
			case sub.ch <- r:
			case <-c.done:
			case <-sub.stopped:
			}
		}
		sub.mu.Unlock()
	}
	if last {
		sub.end()
	}
}

// Subscribe starts a subscription. The channel yields its results and is
// closed when the server completes it, on a subscription error (the last
// Result carries Errors), when the connection ends (see Err), or when
// stop is called (which completes it on the server; results already
// buffered may still be read before the channel closes).
func (c *Conn) Subscribe(ctx context.Context, query string, variables map[string]any) (<-chan Result, func(), error) {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return nil, nil, err
	}
	sub := &subscription{ch: make(chan Result, 64), stopped: make(chan struct{})}
	c.mu.Lock()
	if c.err != nil || isClosed(c.done) {
		c.mu.Unlock()
		return nil, nil, errors.New("gqlws: connection closed")
	}
	c.nextID++
	id := strconv.Itoa(c.nextID)
	c.subs[id] = sub
	c.mu.Unlock()
	if err := c.write(ctx, message{ID: id, Type: "subscribe", Payload: payload}); err != nil {
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
		return nil, nil, err
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			close(sub.stopped)
			c.mu.Lock()
			live := c.subs[id] == sub
			if live {
				delete(c.subs, id)
			}
			c.mu.Unlock()
			if live {
				_ = c.write(context.Background(), message{ID: id, Type: "complete"})
			}
			sub.end()
		})
	}
	return sub.ch, stop, nil
}

// Done is closed when the connection ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it lives).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection normally.
func (c *Conn) Close() error {
	return c.ws.Close(websocket.StatusNormalClosure, "")
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
