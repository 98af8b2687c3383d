package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/server/gqlws"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/store/feed"
	"github.com/cloudplatform/cloud/vocab"
)

// Filter selects a stream: one operation's events (positioned by Seq; the
// stream ends after the operation's last event), or, with no OperationID,
// a deployment's events (one environment or all; positioned by GlobalSeq;
// never ends), or, with neither, every deployment's events (by GlobalSeq;
// never ends). Kinds, when given, keeps only those kinds of events.
type Filter struct {
	OperationID  string
	DeploymentID string
	Environment  string
	Kinds        []string
}

// Update is what a source hands its consumer: events (in order, each
// once), or a change of the connection's state (Status: "connected",
// "reconnecting", with Err saying why).
type Update struct {
	Events []*Event
	Status string
	Err    error
	// Retry is when the next connection attempt is made (reconnecting).
	Retry time.Duration
}

// Source streams events with a position after after to emit, until the
// stream ends (nil), ctx is done (ctx.Err()) or it fails for good.
type Source interface {
	Stream(ctx context.Context, f Filter, after int, emit func(Update)) error
}

// position is an event's position in the stream f selects.
func position(f Filter, ev *Event) int {
	if f.OperationID != "" {
		return ev.Seq
	}
	return ev.GlobalSeq
}

// Local streams from the local store through a feed.Hub, converting the
// events as the server does (model.EventFrom).
type Local struct {
	Hub *feed.Hub
}

// Stream implements Source.
func (l Local) Stream(ctx context.Context, f Filter, after int, emit func(Update)) error {
	sf := store.EventFilter{OperationID: f.OperationID, DeploymentID: f.DeploymentID, Environment: f.Environment, Kinds: f.Kinds}
	if f.OperationID != "" {
		sf.DeploymentID, sf.Environment = "", ""
	}
	for {
		ch, err := l.Hub.Subscribe(ctx, sf, int64(after))
		if err != nil {
			return err
		}
		var overflow *feed.Overflow
		for it := range ch {
			if it.Overflow != nil {
				overflow = it.Overflow
				continue
			}
			evs := make([]*Event, 0, len(it.Events))
			for _, e := range it.Events {
				ev := model.EventFrom(*e)
				after = max(after, position(f, ev))
				evs = append(evs, ev)
			}
			emit(Update{Events: evs})
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if overflow == nil {
			return nil
		}
		after = int(overflow.ResumeAfter)
	}
}

// Remote streams from a `cloud serve` server over graphql-transport-ws. It
// reconnects by itself with exponential backoff (with jitter) when the
// connection fails or drops, resuming after the last event it delivered.
type Remote struct {
	// URL is the server's base URL (http://host:port) or its GraphQL
	// endpoint.
	URL string
	// Header is sent with every request (e.g. Authorization).
	Header http.Header
	// Authorize, if set, updates the headers of each request and
	// connection just before it is made: a token that expired while the
	// stream ran (the server closes a subscription when its token ends)
	// is renewed for the reconnection.
	Authorize func(ctx context.Context, h http.Header)
	// MinBackoff and MaxBackoff bound the wait between attempts (defaults
	// 250ms and 10s).
	MinBackoff, MaxBackoff time.Duration
	// GiveUp ends the stream with an error after failing to connect for
	// that long in a row (0: never).
	GiveUp time.Duration
}

// Endpoint is the GraphQL endpoint of the server.
func (r Remote) Endpoint() string {
	u, err := url.Parse(r.URL)
	if err != nil || u.Path != "" && u.Path != "/" {
		return r.URL
	}
	u.Path = "/graphql"
	return u.String()
}

const eventFields = `events { operationId seq globalSeq deploymentId environment stack kind time payload } overflow { resumeAfter reason }`

// Stream implements Source.
func (r Remote) Stream(ctx context.Context, f Filter, after int, emit func(Update)) error {
	minB, maxB := r.MinBackoff, r.MaxBackoff
	if minB <= 0 {
		minB = 250 * time.Millisecond
	}
	if maxB <= 0 {
		maxB = 10 * time.Second
	}
	backoff := minB
	ended := false // the operation's final status event was delivered
	var failingSince time.Time
	connected := false
	for {
		done, err := r.once(ctx, f, &after, func(u Update) {
			if !connected {
				connected = true
				emit(Update{Status: "connected"})
			}
			backoff, failingSince = minB, time.Time{}
			for _, ev := range u.Events {
				if vocab.EventType(ev.Kind) == vocab.EventOperation && ev.Stack == "" {
					var p struct{ Status vocab.OperationStatus }
					_ = Decode(ev, &p)
					ended = ended || p.Status.Terminal()
				}
			}
			if len(u.Events) > 0 {
				emit(u)
			}
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return perm.err
		}
		if done {
			if f.OperationID != "" && ended {
				return nil
			}
			// Completed before the operation's end: the server is
			// shutting down.
			err = errors.New("the server ended the subscription")
		}
		if err == nil { // resubscribe at once (overflow)
			continue
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if r.GiveUp > 0 && time.Since(failingSince) > r.GiveUp {
			return fmt.Errorf("giving up after %s: %w", r.GiveUp, err)
		}
		connected = false
		wait := backoff/2 + rand.N(backoff/2+1)
		emit(Update{Status: "reconnecting", Err: err, Retry: wait})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxB)
	}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

// once runs one connection: done when the stream ended for good; a nil
// error and not done means resubscribe (after an overflow).
func (r Remote) once(ctx context.Context, f Filter, after *int, emit func(Update)) (done bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := gqlws.Dial(ctx, r.Endpoint(), gqlws.Options{Header: r.header(ctx)})
	if err != nil {
		return false, err
	}
	defer conn.Close()
	field, query, vars := "operationEvents",
		`subscription($op: ID!, $after: Int, $kinds: [String!]) { operationEvents(operationId: $op, afterSeq: $after, kinds: $kinds) { `+eventFields+` } }`,
		map[string]any{"op": f.OperationID, "after": *after}
	switch {
	case f.OperationID != "":
	case f.DeploymentID != "":
		field = "deploymentEvents"
		query = `subscription($d: ID!, $env: String, $after: Int, $kinds: [String!]) { deploymentEvents(deploymentId: $d, environment: $env, afterSeq: $after, kinds: $kinds) { ` + eventFields + ` } }`
		vars = map[string]any{"d": f.DeploymentID, "after": *after}
		if f.Environment != "" {
			vars["env"] = f.Environment
		}
	default:
		field = "events"
		query = `subscription($after: Int, $kinds: [String!]) { events(afterSeq: $after, kinds: $kinds) { ` + eventFields + ` } }`
		vars = map[string]any{}
		if *after > 0 { // else from now: the server knows where now is
			vars["after"] = *after
		}
	}
	if len(f.Kinds) > 0 {
		vars["kinds"] = f.Kinds
	}
	ch, stop, err := conn.Subscribe(ctx, query, vars)
	if err != nil {
		return false, err
	}
	defer stop()
	emit(Update{})
	overflowed := false
	for {
		var res gqlws.Result
		var open bool
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case res, open = <-ch:
		}
		if !open {
			break
		}
		if len(res.Errors) > 0 {
			return true, &permanentError{res.Errors[0]}
		}
		var data map[string]struct {
			Events   []*Event
			Overflow *struct {
				ResumeAfter int
				Reason      string
			}
		}
		if err := json.Unmarshal(res.Data, &data); err != nil {
			return true, &permanentError{fmt.Errorf("decode %s: %w", field, err)}
		}
		msg := data[field]
		var evs []*Event
		for _, ev := range msg.Events {
			if p := position(f, ev); p > *after {
				*after = p
				evs = append(evs, ev)
			}
		}
		if len(evs) > 0 {
			emit(Update{Events: evs})
		}
		if msg.Overflow != nil {
			*after, overflowed = msg.Overflow.ResumeAfter, true
		}
	}
	select {
	case <-conn.Done():
		if overflowed {
			return false, nil
		}
		if err := conn.Err(); err != nil {
			return false, err
		}
		return false, errors.New("connection closed")
	default:
	}
	if overflowed {
		return false, nil
	}
	// The server completed the subscription: the operation has ended, or
	// the server is going away (the caller tells which).
	return true, nil
}

// header is what a request or connection carries: Header, brought up to
// date by Authorize.
func (r Remote) header(ctx context.Context) http.Header {
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if r.Authorize != nil {
		r.Authorize(ctx, h)
	}
	return h
}

// Query runs one GraphQL query against the server and decodes its data
// into out.
func (r Remote) Query(ctx context.Context, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Endpoint(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range r.header(ctx) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var res struct {
		Data   json.RawMessage
		Errors []gqlws.GraphQLError
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return fmt.Errorf("%s: %s", r.Endpoint(), resp.Status)
	}
	if len(res.Errors) > 0 {
		msgs := make([]string, len(res.Errors))
		for i, e := range res.Errors {
			msgs[i] = e.Error()
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return json.Unmarshal(res.Data, out)
}

// Follow streams into st: f's events from the start (one operation, whose
// stream ends with it) and, with watch, then the deployment's later
// operations as they come. onEvent is called after each event is applied,
// onStatus with each change of the connection's state; either may be nil.
func Follow(ctx context.Context, src Source, f Filter, watch bool, st *State, onEvent func(*Event), onStatus func(Update)) error {
	emit := func(u Update) {
		for _, ev := range u.Events {
			st.Apply(ev)
			if onEvent != nil {
				onEvent(ev)
			}
		}
		if u.Status != "" && onStatus != nil {
			onStatus(u)
		}
	}
	if f.OperationID != "" {
		if err := src.Stream(ctx, f, st.seqFor(f), emit); err != nil || !watch {
			return err
		}
		f.OperationID = ""
	}
	return src.Stream(ctx, f, st.LastGlobalSeq, emit)
}

func (s *State) seqFor(f Filter) int {
	if s.OperationID == f.OperationID {
		return s.LastSeq
	}
	return 0
}
