package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/auth/cognito"
	"github.com/cloudplatform/cloud/document"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/monitor"
)

// HTTP is a Client of a `cloud serve` over its REST API (/api/v1). It
// sends the ID token `cloud login` kept for the server, renewed when it is
// due, retries once after a 429's Retry-After, and turns the server's
// problem documents into errors that carry their code (*Error).
type HTTP struct {
	base, key string
	tokens    cognito.Store
	http      *http.Client
	// Sleep waits for a Retry-After, or less when the context ends.
	Sleep func(context.Context, time.Duration) error
	// Warn tells the user something they should know (on stderr).
	Warn io.Writer
	// GiveUp ends a Stream after being unable to connect for that long in
	// a row (0: never).
	GiveUp time.Duration
}

// NewHTTP is a client of the server at base (its URL), with the tokens
// kept in tokens. The error is a bad URL.
func NewHTTP(base string, tokens cognito.Store, warn io.Writer) (*HTTP, error) {
	key, err := cognito.ServerKey(base)
	if err != nil {
		return nil, err
	}
	return &HTTP{base: strings.TrimRight(base, "/"), key: key, tokens: tokens,
		http: &http.Client{Timeout: 5 * time.Minute}, Sleep: SleepCtx, Warn: warn}, nil
}

// SleepCtx waits for d, or less when ctx ends (its error then).
func SleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Detached implements Client: an operation runs on the server.
func (c *HTTP) Detached() bool { return true }

// Where implements Client: the server's name (its ServerKey).
func (c *HTTP) Where() string { return c.key }

// Base is the server's URL, without a trailing slash.
func (c *HTTP) Base() string { return c.base }

// token returns the ID token kept for the server, renewed when it expires
// within two minutes; "" with the reason when there is none (no login, or
// the session expired): the server may need none, and if it does, its
// 401 is answered with that reason.
func (c *HTTP) token(ctx context.Context) (string, error) {
	ent, err := c.tokens.Fresh(ctx, c.key, 2*time.Minute)
	if err != nil {
		return "", err
	}
	return ent.Tokens.IDToken, nil
}

// Header is the Authorization header for the server, empty without a
// login. Never nil, so it can be renewed in place (see Renew).
func (c *HTTP) Header(ctx context.Context) http.Header {
	h := http.Header{}
	c.Renew(ctx, h)
	return h
}

// Renew sets h's Authorization to the current ID token (renewed when
// due), or removes it without a login.
func (c *HTTP) Renew(ctx context.Context, h http.Header) {
	if tok, err := c.token(ctx); err == nil && tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	} else {
		h.Del("Authorization")
	}
}

// Problem is an RFC 9457 problem document of the server, as far as a
// client reads it.
type Problem struct {
	Status      int    `json:"status"`
	Title       string `json:"title"`
	Detail      string `json:"detail"`
	Code        string `json:"code"`
	Field       string `json:"field"`
	OperationID string `json:"operationId"`
	Errors      []struct {
		Message string `json:"message"`
		Field   string `json:"field"`
		Line    int    `json:"line"`
	} `json:"errors"`
}

// Error is a refusal of the server, shown as "<detail> (<code>)".
type Error struct {
	Problem Problem
	// Login says how to log in, for a 401.
	Login string
}

func (e *Error) Error() string {
	p := e.Problem
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	for _, d := range p.Errors {
		if strings.Contains(msg, d.Message) {
			continue // the detail lists it already
		}
		where := d.Field
		if d.Line > 0 {
			where += fmt.Sprintf(" (line %d)", d.Line)
		}
		msg += fmt.Sprintf("\n  %s: %s", where, d.Message)
	}
	msg = fmt.Sprintf("%s (%s)", msg, p.Code)
	if e.Login != "" {
		msg += ": " + e.Login
	}
	return msg
}

// Code is the problem's stable code.
func (e *Error) Code() string { return e.Problem.Code }

// ErrNotLoggedIn is a 401 of a server the CLI holds no token for (or
// whose session expired).
var ErrNotLoggedIn = errors.New("not logged in")

// YAML is a request body sent as application/yaml.
type YAML []byte

// Do sends one request to path (under /api/v1) and decodes a 2xx JSON
// answer into out (when not nil). A 429 is retried once after its
// Retry-After; a 401 says how to log in.
func (c *HTTP) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var payload []byte
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case YAML:
		payload, ctype = b, "application/yaml"
	default:
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	u := c.base + "/api/v1" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		if payload != nil {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("Accept", "application/json")
		tok, tokErr := c.token(ctx)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, u, err)
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, u, err)
		}
		if resp.StatusCode/100 == 2 {
			if out != nil && len(raw) > 0 {
				if err := json.Unmarshal(raw, out); err != nil {
					return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
				}
			}
			return nil
		}
		var p Problem
		if json.Unmarshal(raw, &p) != nil || p.Code == "" {
			p = Problem{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode),
				Detail: fmt.Sprintf("%s %s: %s", method, path, strings.TrimSpace(firstLine(string(raw))))}
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			if attempt == 0 {
				wait := retryAfter(resp.Header.Get("Retry-After"))
				fmt.Fprintf(c.Warn, "warning: %s is rate limiting this client; retrying in %s\n", c.key, wait)
				if err := c.Sleep(ctx, wait); err != nil {
					return err
				}
				continue
			}
		case http.StatusUnauthorized:
			login := "run cloud login --server " + c.key
			if tok == "" {
				why := "not logged in to " + c.key
				if tokErr != nil && errors.Is(tokErr, cognito.ErrSessionExpired) {
					why = "the session with " + c.key + " expired"
				}
				return fmt.Errorf("%s: %s: %w", why, login, ErrNotLoggedIn)
			}
			return &Error{Problem: p, Login: login}
		}
		return &Error{Problem: p}
	}
}

// retryAfter reads a Retry-After in seconds (the server's form), at least
// one second and at most a minute: a client should not hang on a bad one.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		n = 1
	}
	return min(time.Duration(n)*time.Second, time.Minute)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func esc(s string) string { return url.PathEscape(s) }

// envPath is the path of an environment of a deployment.
func envPath(id, env string) string {
	return "/deployments/" + esc(id) + "/environments/" + esc(env)
}

// Deployments implements Client.
func (c *HTTP) Deployments(ctx context.Context, includeDestroyed bool) (document.Page[*model.Deployment], error) {
	return allPages(func(after *string) (document.Page[*model.Deployment], error) {
		q := url.Values{"first": {strconv.Itoa(MaxPage)}}
		if includeDestroyed {
			q.Set("includeDestroyed", "true")
		}
		if after != nil {
			q.Set("after", *after)
		}
		var p document.Page[*model.Deployment]
		return p, c.Do(ctx, http.MethodGet, "/deployments", q, nil, &p)
	})
}

// Deployment implements Client.
func (c *HTTP) Deployment(ctx context.Context, id, env string) (*model.Deployment, error) {
	var d model.Deployment
	if err := c.Do(ctx, http.MethodGet, "/deployments/"+esc(id), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, document.Narrow(&d, env)
}

// Outputs implements Client.
func (c *HTTP) Outputs(ctx context.Context, id, env, stack string, showSecrets bool) (document.Page[*model.Output], error) {
	q := url.Values{}
	if stack != "" {
		q.Set("stack", stack)
	}
	if showSecrets {
		q.Set("showSecrets", "true")
	}
	var p document.Page[*model.Output]
	return p, c.Do(ctx, http.MethodGet, envPath(id, env)+"/outputs", q, nil, &p)
}

// Operations implements Client.
func (c *HTTP) Operations(ctx context.Context, id, env string, first int) (document.Page[*model.Operation], error) {
	var p document.Page[*model.Operation]
	if err := checkFirst(first); err != nil {
		return p, err
	}
	q := url.Values{"first": {strconv.Itoa(first)}}
	if env != "" {
		q.Set("environment", env)
	}
	return p, c.Do(ctx, http.MethodGet, "/deployments/"+esc(id)+"/operations", q, nil, &p)
}

// Operation implements Client.
func (c *HTTP) Operation(ctx context.Context, id string) (*model.Operation, error) {
	var op model.Operation
	if err := c.Do(ctx, http.MethodGet, "/operations/"+esc(id), nil, nil, &op); err != nil {
		return nil, err
	}
	return &op, nil
}

// Events implements Client.
func (c *HTTP) Events(ctx context.Context, opID string, afterSeq, first int, stacks ...string) (document.EventPage, error) {
	if first == 0 {
		first = MaxPage
	}
	q := url.Values{"afterSeq": {strconv.Itoa(afterSeq)}, "first": {strconv.Itoa(first)}, "stack": stacks}
	// Payloads stay the server's bytes (as the local store's are): decoded
	// into maps and encoded again, their keys and numbers could change.
	var raw struct {
		document.EventPage
		Items []struct {
			model.Event
			Payload json.RawMessage `json:"payload"`
		} `json:"items"`
	}
	if err := c.Do(ctx, http.MethodGet, "/operations/"+esc(opID)+"/events", q, nil, &raw); err != nil {
		return document.EventPage{}, err
	}
	p := raw.EventPage
	p.Items = make([]*model.Event, len(raw.Items))
	for i, it := range raw.Items {
		ev := it.Event
		ev.Payload = nil
		if len(it.Payload) > 0 && string(it.Payload) != "null" {
			ev.Payload = it.Payload
		}
		p.Items[i] = &ev
	}
	return p, nil
}

// RollbackCandidates implements Client.
func (c *HTTP) RollbackCandidates(ctx context.Context, id, env string) (document.Page[*model.Operation], error) {
	var p document.Page[*model.Operation]
	return p, c.Do(ctx, http.MethodGet, envPath(id, env)+"/rollback-candidates", nil, nil, &p)
}

// Cancel implements Client.
func (c *HTTP) Cancel(ctx context.Context, opID string) (*model.Operation, error) {
	var op model.Operation
	if err := c.Do(ctx, http.MethodPost, "/operations/"+esc(opID)+"/cancel", nil, nil, &op); err != nil {
		return nil, err
	}
	return &op, nil
}

// Stream implements Client over the server's GraphQL subscriptions
// (graphql-transport-ws), reconnecting with backoff; each connection
// carries the ID token as it is then, renewed when due: the server closes
// a subscription when its token expires.
func (c *HTTP) Stream(ctx context.Context, f monitor.Filter, after int, emit func(monitor.Update)) error {
	return monitor.Remote{URL: c.base, Authorize: c.Renew, GiveUp: c.GiveUp}.Stream(ctx, f, after, emit)
}

// Check implements Client with one cheap authenticated call.
func (c *HTTP) Check(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "/deployments", url.Values{"first": {"1"}}, nil, nil)
}
