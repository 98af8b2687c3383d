package auth

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// maxJWKSSize bounds the JWKS document; Cognito's is about 1 KiB.
	maxJWKSSize = 1 << 20
	// fetchTimeout caps a fetch even when Config.HTTPClient has no timeout:
	// while a fetch is in flight no other may start, so a hung one would
	// freeze key rotation.
	fetchTimeout = 30 * time.Second
	// minRSABits refuses keys too short to trust (RFC 7518 §3.3).
	minRSABits = 2048
)

// keySet is the cached JWKS of one issuer. Lookups of a known kid only take
// the mutex; an unknown kid triggers at most one fetch per interval, shared
// by every caller that arrives while it is in flight.
type keySet struct {
	url      string
	client   *http.Client
	interval time.Duration
	now      func() time.Time

	mu          sync.Mutex // guards the fields below
	keys        map[string]*rsa.PublicKey
	lastAttempt time.Time  // start of the last fetch; zero before the first
	lastErr     error      // outcome of the last finished fetch
	inflight    *fetchCall // the fetch in progress, if any
}

// fetchCall is one JWKS fetch that several callers may wait for.
type fetchCall struct {
	done chan struct{} // closed when err is set
	err  error
}

// lookup returns the key with this kid, refetching the JWKS when the kid is
// unknown and the rate limit allows. Errors are *Error: "unknown signing
// key", or "signing keys unavailable" wrapping the fetch error.
func (s *keySet) lookup(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	s.mu.Lock()
	if k, ok := s.keys[kid]; ok {
		s.mu.Unlock()
		return k, nil
	}
	call := s.inflight
	if call == nil {
		if elapsed := s.now().Sub(s.lastAttempt); !s.lastAttempt.IsZero() && elapsed >= 0 && elapsed < s.interval {
			// Too soon to ask again. If the last fetch failed, the kid
			// may well be in the set we could not get: say so rather than
			// blame the token.
			err := s.lastErr
			s.mu.Unlock()
			if err != nil {
				return nil, &Error{Reason: reasonKeysUnavailable, err: err}
			}
			return nil, newError(reasonUnknownKey)
		}
		call = s.startLocked(ctx)
	}
	s.mu.Unlock()

	if err := wait(ctx, call); err != nil {
		return nil, &Error{Reason: reasonKeysUnavailable, err: err}
	}
	s.mu.Lock()
	k, ok := s.keys[kid]
	s.mu.Unlock()
	if !ok {
		return nil, newError(reasonUnknownKey)
	}
	return k, nil
}

// refresh fetches the JWKS now, ignoring the rate limit, or joins the fetch
// already in flight.
func (s *keySet) refresh(ctx context.Context) error {
	s.mu.Lock()
	call := s.inflight
	if call == nil {
		call = s.startLocked(ctx)
	}
	s.mu.Unlock()
	return wait(ctx, call)
}

// startLocked starts a fetch in the background; s.mu must be held. The fetch
// does not inherit ctx's cancellation: other callers wait for it too, and a
// client hanging up must not cost everyone a refresh for a whole interval.
func (s *keySet) startLocked(ctx context.Context) *fetchCall {
	call := &fetchCall{done: make(chan struct{})}
	s.inflight = call
	s.lastAttempt = s.now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	go func() {
		defer cancel()
		keys, err := s.fetch(ctx)
		s.mu.Lock()
		if err == nil {
			s.keys = keys
		} // else keep the old keys: tokens they signed are still good.
		s.lastErr = err
		s.inflight = nil
		s.mu.Unlock()
		call.err = err
		close(call.done)
	}()
	return call
}

// wait waits for call, or for ctx to be done.
func wait(ctx context.Context, call *fetchCall) error {
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch downloads and parses the JWKS.
func (s *keySet) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: GET %s: %s", s.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: read %s: %w", s.url, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("fetch jwks: %s is larger than %d bytes", s.url, maxJWKSSize)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %s: %w", s.url, err)
	}
	return keys, nil
}

// parseJWKS returns the RSA signing keys of a JWKS document by kid. Keys of
// other kinds are skipped rather than failing the whole set, so that an
// issuer publishing, say, an EC key next to its RSA keys still works.
func parseJWKS(body []byte) (map[string]*rsa.PublicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(doc.Keys))
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue // unsupported or invalid key
		}
		if k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != string(jose.RS256) {
			continue
		}
		pub, ok := k.Key.(*rsa.PublicKey)
		if !ok || pub.N.BitLen() < minRSABits {
			continue // only public RSA keys; never a private or symmetric one
		}
		keys[k.KeyID] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable RSA signing key")
	}
	return keys, nil
}
