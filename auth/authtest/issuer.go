// Package authtest runs a local token issuer for tests: it publishes a JWKS
// over HTTP like a Cognito user pool and signs tokens with Cognito's claim
// names, plus the forged tokens (alg none, HS256 keyed with the public key,
// tampered payloads) a verifier must refuse.
package authtest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/cloudplatform/cloud/auth"
)

// DefaultClientID is the app client ID of tokens whose Token.ClientID is
// empty, and the client ID Verifier allows when given none.
const DefaultClientID = "authtest-client"

// jwksPath is where Cognito publishes a user pool's keys.
const jwksPath = "/.well-known/jwks.json"

// Issuer is a local OpenID-style issuer: an httptest server serving its JWKS
// at /.well-known/jwks.json, with generated RSA-2048 keys. It is safe for
// concurrent use.
type Issuer struct {
	// URL is the issuer: the iss of its tokens and the base of JWKSURL.
	URL string

	srv     *httptest.Server
	fetches atomic.Int64

	mu          sync.Mutex // guards the fields below
	current     signingKey
	published   []signingKey // in the JWKS; includes current
	unavailable bool
	owned       []*rsa.PrivateKey // every key taken from keyPool
}

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// New starts an issuer with one signing key. t.Cleanup closes it.
func New(t testing.TB) *Issuer {
	t.Helper()
	i := &Issuer{}
	k, err := i.newKey()
	if err != nil {
		t.Fatal(err)
	}
	i.current = k
	i.published = []signingKey{i.current}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+jwksPath, i.serveJWKS)
	mux.HandleFunc("GET /.well-known/openid-configuration", i.serveDiscovery)
	i.srv = httptest.NewServer(mux)
	i.URL = i.srv.URL
	t.Cleanup(i.close)
	return i
}

// keyPool recycles the RSA keys of closed issuers. Generating an RSA-2048
// key costs tens of milliseconds (more under -race), and test suites create
// many issuers one after the other; a key is only ever held by one live
// issuer, so two issuers alive at once never share a key. This is the
// package's only global: it is a cache and changes no behaviour.
var keyPool struct {
	mu   sync.Mutex
	free []*rsa.PrivateKey
}

// newKey returns a key from the pool, or a freshly generated one, under a
// new random kid. The issuer returns its keys to the pool when closed.
func (i *Issuer) newKey() (signingKey, error) {
	keyPool.mu.Lock()
	var key *rsa.PrivateKey
	if n := len(keyPool.free); n > 0 {
		key, keyPool.free = keyPool.free[n-1], keyPool.free[:n-1]
	}
	keyPool.mu.Unlock()
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return signingKey{}, fmt.Errorf("authtest: generate key: %w", err)
		}
	}
	i.mu.Lock()
	i.owned = append(i.owned, key)
	i.mu.Unlock()
	return signingKey{kid: randomHex(8), key: key}, nil
}

// close stops the server and gives the issuer's keys back to the pool.
func (i *Issuer) close() {
	i.srv.Close()
	i.mu.Lock()
	owned := i.owned
	i.owned = nil
	i.mu.Unlock()
	keyPool.mu.Lock()
	keyPool.free = append(keyPool.free, owned...)
	keyPool.mu.Unlock()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand docs)
	return hex.EncodeToString(b)
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	i.fetches.Add(1)
	i.mu.Lock()
	unavailable := i.unavailable
	set := jose.JSONWebKeySet{}
	for _, k := range i.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       &k.key.PublicKey,
			KeyID:     k.kid,
			Algorithm: string(jose.RS256),
			Use:       "sig",
		})
	}
	i.mu.Unlock()
	if unavailable {
		http.Error(w, "jwks unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                i.URL,
		"jwks_uri":                              i.JWKSURL(),
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

// JWKSURL returns the URL of the issuer's JWKS.
func (i *Issuer) JWKSURL() string { return i.URL + jwksPath }

// Fetches returns how many times the JWKS was requested, including requests
// answered with an error while SetUnavailable was on.
func (i *Issuer) Fetches() int { return int(i.fetches.Load()) }

// SetUnavailable makes the JWKS endpoint answer 503 (on) or the key set
// (off), to test how a verifier survives an outage of the issuer.
func (i *Issuer) SetUnavailable(on bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.unavailable = on
}

// Rotate makes a new key with a new kid the signing key and returns its kid.
// With keepOld the previous keys stay in the JWKS, as during a real
// rotation; without it only the new key is published.
func (i *Issuer) Rotate(keepOld bool) string {
	// Rotate has no testing.TB to fail, and key generation only fails on
	// a broken random source.
	k, err := i.newKey()
	if err != nil {
		panic(err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.current = k
	if keepOld {
		i.published = append(i.published, k)
	} else {
		i.published = []signingKey{k}
	}
	return k.kid
}

// Kid returns the kid of the current signing key.
func (i *Issuer) Kid() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.current.kid
}

// Token describes a token to sign. Zero fields get Cognito-like defaults.
type Token struct {
	Subject  string // sub; omitted when empty
	Username string // cognito:username (id) or username (access); omitted when empty
	Email    string // email; omitted when empty
	Groups   []string
	TokenUse string // "id" (default) or "access"; any other value is signed as given
	ClientID string // aud (id) or client_id (access); default DefaultClientID
	Issuer   string // iss; default the issuer's URL

	// Zero IssuedAt means now; zero NotBefore omits nbf; zero ExpiresAt
	// means IssuedAt + 1h (Cognito's default token lifetime).
	IssuedAt, NotBefore, ExpiresAt time.Time

	Kid     string // header kid instead of the signing key's
	OmitKid bool   // no kid in the header at all

	// Extra claims are set last: they override the ones above, and a nil
	// value removes a claim (e.g. "exp": nil for a token without exp).
	Extra map[string]any
}

// claims builds the payload of tok the way Cognito does.
func (i *Issuer) claims(tok Token) map[string]any {
	use := tok.TokenUse
	if use == "" {
		use = "id"
	}
	clientID := tok.ClientID
	if clientID == "" {
		clientID = DefaultClientID
	}
	iss := tok.Issuer
	if iss == "" {
		iss = i.URL
	}
	iat := tok.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	exp := tok.ExpiresAt
	if exp.IsZero() {
		exp = iat.Add(time.Hour)
	}
	c := map[string]any{
		"iss":       iss,
		"token_use": use,
		"iat":       iat.Unix(),
		"auth_time": iat.Unix(),
		"exp":       exp.Unix(),
		"jti":       randomHex(16),
	}
	if tok.Subject != "" {
		c["sub"] = tok.Subject
	}
	if !tok.NotBefore.IsZero() {
		c["nbf"] = tok.NotBefore.Unix()
	}
	if tok.Email != "" {
		c["email"] = tok.Email
	}
	if len(tok.Groups) > 0 {
		c["cognito:groups"] = tok.Groups
	}
	if use == "access" {
		c["client_id"] = clientID
		c["scope"] = "aws.cognito.signin.user.admin"
		if tok.Username != "" {
			c["username"] = tok.Username
		}
	} else {
		c["aud"] = clientID
		if tok.Username != "" {
			c["cognito:username"] = tok.Username
		}
	}
	for k, v := range tok.Extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// headerKid returns the kid to put in tok's header, or "" for none.
func (tok Token) headerKid(current string) string {
	switch {
	case tok.OmitKid:
		return ""
	case tok.Kid != "":
		return tok.Kid
	default:
		return current
	}
}

// Sign returns tok signed with RS256 by the current key, as Cognito signs.
func (i *Issuer) Sign(t testing.TB, tok Token) string {
	t.Helper()
	i.mu.Lock()
	k := i.current
	i.mu.Unlock()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid := tok.headerKid(k.kid); kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.key}, opts)
	if err != nil {
		t.Fatalf("authtest: new signer: %v", err)
	}
	s, err := jwt.Signed(signer).Claims(i.claims(tok)).Serialize()
	if err != nil {
		t.Fatalf("authtest: sign: %v", err)
	}
	return s
}

// SignNone returns tok with "alg": "none" and an empty signature, the
// oldest JWT forgery. go-jose refuses to produce it, so it is built by hand.
func (i *Issuer) SignNone(t testing.TB, tok Token) string {
	t.Helper()
	return i.handmade(t, "none", tok, func(string) []byte { return nil })
}

// SignHS256WithPublicKey returns tok signed with HS256 whose HMAC secret is
// the PEM encoding of the current public key: the algorithm-confusion attack
// that works against verifiers that let the header's alg pick how a key is
// used.
func (i *Issuer) SignHS256WithPublicKey(t testing.TB, tok Token) string {
	t.Helper()
	i.mu.Lock()
	pub := &i.current.key.PublicKey
	i.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("authtest: marshal public key: %v", err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return i.handmade(t, "HS256", tok, func(signingInput string) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(signingInput))
		return mac.Sum(nil)
	})
}

// handmade assembles a compact JWS with the given alg and signature.
func (i *Issuer) handmade(t testing.TB, alg string, tok Token, sign func(signingInput string) []byte) string {
	t.Helper()
	i.mu.Lock()
	kid := tok.headerKid(i.current.kid)
	i.mu.Unlock()
	header := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatalf("authtest: marshal header: %v", err)
	}
	p, err := json.Marshal(i.claims(tok))
	if err != nil {
		t.Fatalf("authtest: marshal claims: %v", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	return input + "." + enc.EncodeToString(sign(input))
}

// Tamper returns token with one character of its payload changed and the
// signature kept, so only the signature check can catch it. The character
// changed is in the middle of the payload: the last one may carry only
// padding bits, and changing those would not change the decoded payload.
func Tamper(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) < 2 {
		return token + "x"
	}
	p := []byte(parts[1])
	at := len(p) / 2
	if p[at] == 'A' {
		p[at] = 'B'
	} else {
		p[at] = 'A'
	}
	parts[1] = string(p)
	return strings.Join(parts, ".")
}

// Verifier returns a Verifier for this issuer that allows clientIDs
// (DefaultClientID when none), with the default refresh interval and leeway.
func (i *Issuer) Verifier(t testing.TB, clientIDs ...string) *auth.Verifier {
	t.Helper()
	return i.VerifierWith(t, auth.Config{ClientIDs: clientIDs})
}

// VerifierWith returns a Verifier for this issuer configured by cfg, whose
// empty Issuer, JWKSURL, ClientIDs and HTTPClient are filled in for this
// issuer. Tests that rotate keys set RefreshInterval or Now here.
func (i *Issuer) VerifierWith(t testing.TB, cfg auth.Config) *auth.Verifier {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = i.URL
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = i.JWKSURL()
	}
	if len(cfg.ClientIDs) == 0 {
		cfg.ClientIDs = []string{DefaultClientID}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = i.srv.Client()
	}
	v, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatalf("authtest: new verifier: %v", err)
	}
	return v
}
