package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/auth"
	"github.com/cloudplatform/cloud/auth/authtest"
)

// clock is a settable Config.Now, so that tests step over RefreshInterval
// instead of sleeping through it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func verify(t *testing.T, v *auth.Verifier, token string) string {
	t.Helper()
	_, err := v.Verify(context.Background(), token)
	return reasonOf(t, err)
}

func TestVerifier_Rotation(t *testing.T) {
	iss := authtest.New(t)
	clk := newClock()
	v := iss.VerifierWith(t, auth.Config{Now: clk.Now})
	old := iss.Sign(t, authtest.Token{Subject: "u"})
	if got := verify(t, v, old); got != "" {
		t.Fatalf("old token: %q", got)
	}
	if got, want := iss.Fetches(), 1; got != want {
		t.Fatalf("fetches = %d, want %d", got, want)
	}

	// Cognito publishes the new key next to the old one, then signs with it.
	iss.Rotate(true)
	rotated := iss.Sign(t, authtest.Token{Subject: "u"})
	if got, want := verify(t, v, rotated), "unknown signing key"; got != want {
		t.Fatalf("new-key token within RefreshInterval: reason %q, want %q", got, want)
	}
	if got, want := iss.Fetches(), 1; got != want {
		t.Fatalf("fetches within RefreshInterval = %d, want %d", got, want)
	}
	clk.Advance(auth.DefaultRefreshInterval)
	if got := verify(t, v, rotated); got != "" {
		t.Fatalf("new-key token after RefreshInterval: %q", got)
	}
	if got, want := iss.Fetches(), 2; got != want {
		t.Fatalf("fetches after rotation = %d, want %d", got, want)
	}
	if got := verify(t, v, old); got != "" {
		t.Fatalf("old token while its key is still published: %q", got)
	}

	// Once the old key is withdrawn, its tokens stop working.
	iss.Rotate(false)
	clk.Advance(auth.DefaultRefreshInterval)
	if got := verify(t, v, iss.Sign(t, authtest.Token{Subject: "u"})); got != "" {
		t.Fatalf("token of the second rotation: %q", got)
	}
	if got, want := verify(t, v, old), "unknown signing key"; got != want {
		t.Fatalf("old token after its key was withdrawn: reason %q, want %q", got, want)
	}
	if got, want := iss.Fetches(), 3; got != want {
		t.Fatalf("fetches = %d, want %d", got, want)
	}
}

// TestVerifier_RefreshRateLimit: tokens with made-up kids must not make the
// verifier hammer the JWKS endpoint.
func TestVerifier_RefreshRateLimit(t *testing.T) {
	iss := authtest.New(t)
	clk := newClock()
	v := iss.VerifierWith(t, auth.Config{Now: clk.Now})
	if err := v.Warm(context.Background()); err != nil {
		t.Fatalf("Warm: %v", err)
	}
	randomKid := func(i int) string {
		return iss.Sign(t, authtest.Token{Subject: "u", Kid: fmt.Sprintf("kid-%d-%d", i, time.Now().UnixNano())})
	}
	tokens := make([]string, 100)
	for i := range tokens {
		tokens[i] = randomKid(i)
	}

	// Right after Warm: no fetch at all.
	for _, tok := range tokens {
		if got, want := verify(t, v, tok), "unknown signing key"; got != want {
			t.Fatalf("reason = %q, want %q", got, want)
		}
	}
	if got, want := iss.Fetches(), 1; got != want {
		t.Fatalf("fetches after 100 unknown kids = %d, want %d", got, want)
	}

	// Once the interval has passed, 100 concurrent unknown kids share one
	// fetch.
	clk.Advance(auth.DefaultRefreshInterval)
	var wg sync.WaitGroup
	for _, tok := range tokens {
		wg.Go(func() {
			if got, want := verify(t, v, tok), "unknown signing key"; got != want {
				t.Errorf("reason = %q, want %q", got, want)
			}
		})
	}
	wg.Wait()
	if got, want := iss.Fetches(), 2; got != want {
		t.Fatalf("fetches after the interval = %d, want %d", got, want)
	}
	if got := verify(t, v, iss.Sign(t, authtest.Token{Subject: "u"})); got != "" {
		t.Fatalf("valid token after the flood: %q", got)
	}
}

// TestVerifier_Concurrent runs Verify from many goroutines while keys are
// refreshed; run it with -race.
func TestVerifier_Concurrent(t *testing.T) {
	iss := authtest.New(t)
	clk := newClock()
	v := iss.VerifierWith(t, auth.Config{Now: clk.Now, RefreshInterval: time.Millisecond})
	good := []string{
		iss.Sign(t, authtest.Token{Subject: "u", TokenUse: "id"}),
		iss.Sign(t, authtest.Token{Subject: "u", TokenUse: "access"}),
	}
	bad := []string{
		authtest.Tamper(good[0]),
		iss.Sign(t, authtest.Token{Subject: "u", Kid: "unknown"}),
		iss.SignNone(t, authtest.Token{Subject: "u"}),
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if _, err := v.Verify(context.Background(), good[(g+i)%len(good)]); err != nil {
					t.Errorf("valid token rejected: %v", err)
				}
				if _, err := v.Verify(context.Background(), bad[(g+i)%len(bad)]); err == nil {
					t.Error("bad token accepted")
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			clk.Advance(time.Millisecond)
			_ = v.Warm(context.Background())
		}
	})
	wg.Wait()
}

func TestVerifier_KeysUnavailable(t *testing.T) {
	iss := authtest.New(t)
	clk := newClock()
	v := iss.VerifierWith(t, auth.Config{Now: clk.Now})
	token := iss.Sign(t, authtest.Token{Subject: "u"})

	iss.SetUnavailable(true)
	if err := v.Warm(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Warm during an outage = %v, want an error naming the 503", err)
	}
	_, err := v.Verify(context.Background(), token)
	if got, want := reasonOf(t, err), "signing keys unavailable"; got != want {
		t.Fatalf("reason = %q, want %q", got, want)
	}
	if cause := errors.Unwrap(err); cause == nil || !strings.Contains(cause.Error(), "503") {
		t.Fatalf("Unwrap = %v, want the fetch error", cause)
	}

	// The outage ends: the next refresh (after the interval) recovers.
	iss.SetUnavailable(false)
	clk.Advance(auth.DefaultRefreshInterval)
	if got := verify(t, v, token); got != "" {
		t.Fatalf("after the outage: %q", got)
	}

	// A failed refresh keeps the keys already known.
	iss.SetUnavailable(true)
	iss.Rotate(true)
	clk.Advance(auth.DefaultRefreshInterval)
	if got, want := verify(t, v, iss.Sign(t, authtest.Token{Subject: "u"})), "signing keys unavailable"; got != want {
		t.Fatalf("new key during an outage: reason %q, want %q", got, want)
	}
	if got := verify(t, v, token); got != "" {
		t.Fatalf("known key during an outage: %q", got)
	}
	if got, want := iss.Fetches(), 3; got != want {
		t.Fatalf("fetches = %d, want %d", got, want)
	}
}

func TestVerifier_Warm_Unreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	v, err := auth.NewVerifier(auth.Config{Issuer: url, ClientIDs: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Warm(context.Background()); err == nil || !strings.Contains(err.Error(), "fetch jwks") {
		t.Fatalf("Warm = %v, want a fetch error", err)
	}
}

// TestVerifier_JWKSKeyFilter: only RSA signing keys are used; anything else
// in the set is skipped without spoiling the usable keys.
func TestVerifier_JWKSKeyFilter(t *testing.T) {
	iss := authtest.New(t)
	other := authtest.New(t)
	keysOf := func(i *authtest.Issuer) []map[string]any {
		resp, err := http.Get(i.JWKSURL())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct{ Keys []map[string]any }
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			t.Fatal(err)
		}
		return set.Keys
	}
	rsaKey, otherKey := keysOf(iss)[0], keysOf(other)[0]
	with := func(edit map[string]any) map[string]any {
		k := map[string]any{}
		for n, x := range rsaKey {
			k[n] = x
		}
		for n, x := range edit {
			k[n] = x
		}
		return k
	}
	junk := []any{
		map[string]any{"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
		map[string]any{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
		map[string]any{"kty": "OKP", "kid": "ed", "crv": "X448", "x": "AAAA"},
		"not a key",
	}
	token := iss.Sign(t, authtest.Token{Subject: "u"})
	for _, tc := range []struct {
		name string
		keys []any
		want string
	}{
		{"rsa among junk", append(junk, rsaKey), ""},
		{"no use", []any{with(map[string]any{"use": nil})}, ""},
		{"encryption key", []any{with(map[string]any{"use": "enc"}), otherKey}, "unknown signing key"},
		{"key for another alg", []any{with(map[string]any{"alg": "RS512"}), otherKey}, "unknown signing key"},
		{"private key", []any{with(map[string]any{"d": "AQAB"}), otherKey}, "unknown signing key"},
		{"only junk", junk, "signing keys unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = json.NewEncoder(w).Encode(map[string]any{"keys": tc.keys})
			}))
			defer srv.Close()
			v := iss.VerifierWith(t, auth.Config{JWKSURL: srv.URL})
			if got := verify(t, v, token); got != tc.want {
				t.Fatalf("reason = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVerifier_Verify_ContextCanceled: a caller that gives up waiting for a
// fetch gets an error, not a hang.
func TestVerifier_Verify_ContextCanceled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		http.Error(w, "late", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	defer close(release)
	iss := authtest.New(t)
	v := iss.VerifierWith(t, auth.Config{JWKSURL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := v.Verify(ctx, iss.Sign(t, authtest.Token{Subject: "u"}))
	if got, want := reasonOf(t, err), "signing keys unavailable"; got != want {
		t.Fatalf("reason = %q, want %q", got, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}
