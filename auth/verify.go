package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Defaults applied by NewVerifier to zero Config fields.
const (
	// DefaultLeeway absorbs clock skew between Cognito and this host.
	DefaultLeeway = 30 * time.Second
	// DefaultRefreshInterval bounds how often an unknown kid may trigger a
	// JWKS fetch. Cognito rotates keys rarely, so a minute costs nothing.
	DefaultRefreshInterval = time.Minute
	// DefaultHTTPTimeout is the timeout of the default JWKS HTTP client.
	DefaultHTTPTimeout = 10 * time.Second
)

// maxTokenLen bounds the work an unauthenticated client can ask for. Cognito
// tokens are a few KiB even with many groups.
const maxTokenLen = 32 << 10

// Reasons of rejected tokens. They are part of the contract with clients
// (they end up in HTTP responses), so they are kept short and stable.
const (
	reasonMissingToken    = "missing token"
	reasonMalformed       = "malformed token"
	reasonMalformedHeader = "malformed authorization header"
	reasonAlgNotAllowed   = "algorithm not allowed"
	reasonMissingKid      = "missing kid"
	reasonUnknownKey      = "unknown signing key"
	reasonKeysUnavailable = "signing keys unavailable"
	reasonBadSignature    = "bad signature"
	reasonWrongIssuer     = "wrong issuer"
	reasonWrongTokenUse   = "wrong token_use"
	reasonClientNotAllow  = "client not allowed"
	reasonMissingSub      = "missing sub"
	reasonMissingExp      = "missing exp"
	reasonExpired         = "token expired"
	reasonNotYetValid     = "token not valid yet"
	reasonIssuedInFuture  = "token issued in the future"
)

// Error is a rejected token (or Authorization header). Reason is short,
// lowercase and safe to show a client: it never contains the token. Callers
// that need to tell "the client sent a bad token" (401) from "we could not
// get the signing keys" (503) compare Reason with "signing keys unavailable";
// in that case Unwrap returns the fetch error, for logs.
type Error struct {
	Reason string
	err    error // cause, only for logs; never shown to clients
}

func newError(reason string) *Error { return &Error{Reason: reason} }

// Error returns "invalid token: " + Reason.
func (e *Error) Error() string { return "invalid token: " + e.Reason }

// Unwrap returns the cause of the rejection when there is one worth logging
// (a JWKS fetch failure), else nil.
func (e *Error) Unwrap() error { return e.err }

// CognitoIssuer is the issuer URL of a Cognito user pool,
// https://cognito-idp.<region>.amazonaws.com/<poolID>: the exact iss its
// tokens carry, and the base of its JWKS URL.
func CognitoIssuer(region, poolID string) string {
	return "https://cognito-idp." + region + ".amazonaws.com/" + poolID
}

// Config configures a Verifier. Issuer and ClientIDs are required; the other
// fields have defaults.
type Config struct {
	// Issuer is the exact iss a token must carry, e.g. CognitoIssuer(...).
	Issuer string
	// JWKSURL is where the signing keys are published. Default:
	// Issuer + "/.well-known/jwks.json", which is where Cognito puts them.
	JWKSURL string
	// ClientIDs are the allowed app client IDs: an ID token's aud, or an
	// access token's client_id, must be one of them. Required, because a
	// user pool serves many apps and a token for another app must not work.
	ClientIDs []string
	// Leeway is the allowed clock skew on exp, nbf and iat. Zero means
	// DefaultLeeway; negative means no leeway at all.
	Leeway time.Duration
	// RefreshInterval is the minimum time between two JWKS fetches
	// triggered by an unknown kid (Warm is not limited). Zero means
	// DefaultRefreshInterval; negative is an error.
	RefreshInterval time.Duration
	// HTTPClient fetches the JWKS. Default: a client with DefaultHTTPTimeout.
	HTTPClient *http.Client
	// Now is the clock used for token times and the refresh rate limit.
	// Default time.Now; tests set it.
	Now func() time.Time
}

// Verifier verifies Cognito tokens. It is safe for concurrent use.
type Verifier struct {
	issuer    string
	clientIDs []string
	leeway    time.Duration
	now       func() time.Time
	keys      *keySet
}

// NewVerifier validates cfg, applies its defaults and returns a Verifier.
// It does not fetch anything: the keys are fetched by Warm or by the first
// Verify.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("auth: Config.Issuer is required")
	}
	if err := checkHTTPURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("auth: Config.Issuer: %w", err)
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/jwks.json"
	} else if err := checkHTTPURL(cfg.JWKSURL); err != nil {
		return nil, fmt.Errorf("auth: Config.JWKSURL: %w", err)
	}
	if len(cfg.ClientIDs) == 0 {
		return nil, errors.New("auth: Config.ClientIDs is required: list the allowed app client IDs")
	}
	if slices.Contains(cfg.ClientIDs, "") {
		return nil, errors.New("auth: Config.ClientIDs contains an empty client ID")
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	}
	switch {
	case cfg.RefreshInterval == 0:
		cfg.RefreshInterval = DefaultRefreshInterval
	case cfg.RefreshInterval < 0:
		return nil, errors.New("auth: Config.RefreshInterval must not be negative")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{
		issuer:    cfg.Issuer,
		clientIDs: slices.Clone(cfg.ClientIDs),
		leeway:    cfg.Leeway,
		now:       cfg.Now,
		keys: &keySet{
			url:      cfg.JWKSURL,
			client:   cfg.HTTPClient,
			interval: cfg.RefreshInterval,
			now:      cfg.Now,
		},
	}, nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// Issuer returns the issuer tokens must carry (Config.Issuer).
func (v *Verifier) Issuer() string { return v.issuer }

// Warm fetches the signing keys now, regardless of RefreshInterval, so that
// the first request does not pay for the fetch and a misconfigured JWKSURL
// shows up at start. An error is informative: Verify fetches again later.
func (v *Verifier) Warm(ctx context.Context) error {
	return v.keys.refresh(ctx)
}

// Claims are the verified claims of a token that the server uses.
type Claims struct {
	Subject   string   // sub: the user's stable ID
	Username  string   // cognito:username, else username (access tokens), else sub
	Email     string   // email, if present (ID tokens)
	Groups    []string // cognito:groups
	TokenUse  string   // "id" or "access"
	ClientID  string   // the allowed aud of an ID token, client_id of an access token
	Issuer    string   // iss
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// cognitoClaims are the claims Cognito adds to the registered ones.
type cognitoClaims struct {
	TokenUse        string   `json:"token_use"`
	ClientID        string   `json:"client_id"`
	CognitoUsername string   `json:"cognito:username"`
	Username        string   `json:"username"`
	Email           string   `json:"email"`
	Groups          []string `json:"cognito:groups"`
}

// Verify checks token and returns its claims. Any rejection is an *Error;
// see the package documentation. ctx bounds the wait for a JWKS fetch the
// token may trigger (the fetch itself outlives ctx, since other callers may
// share it).
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, newError(reasonMissingToken)
	}
	if len(token) > maxTokenLen {
		return nil, newError(reasonMalformed)
	}
	// Only RS256, which is all Cognito uses. Naming it here is what stops
	// "alg: none" and the HS256-keyed-with-the-public-key confusion: the
	// header's alg never chooses how the key is used.
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, newError(algReason(string(algErr.Got)))
		}
		return nil, newError(reasonMalformed)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].Algorithm != string(jose.RS256) {
		return nil, newError(reasonMalformed)
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		// Without a kid we would have to try every key; Cognito always
		// sets it, so a token without one is not Cognito's.
		return nil, newError(reasonMissingKid)
	}
	key, err := v.keys.lookup(ctx, kid)
	if err != nil {
		return nil, err
	}

	var std jwt.Claims
	var cog cognitoClaims
	if err := tok.Claims(key, &std, &cog); err != nil {
		// Claims verifies the signature before decoding, so a decoding
		// error means a correctly signed but malformed payload.
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, newError(reasonBadSignature)
		}
		return nil, newError(reasonMalformed)
	}
	return v.check(&std, &cog)
}

// check applies the claim rules to a token whose signature is valid.
func (v *Verifier) check(std *jwt.Claims, cog *cognitoClaims) (*Claims, error) {
	if std.Issuer != v.issuer {
		return nil, newError(reasonWrongIssuer)
	}
	var clientID string
	switch cog.TokenUse {
	case "id":
		for _, aud := range std.Audience {
			if slices.Contains(v.clientIDs, aud) {
				clientID = aud
				break
			}
		}
	case "access":
		// Cognito access tokens carry no aud; the app is in client_id.
		if slices.Contains(v.clientIDs, cog.ClientID) {
			clientID = cog.ClientID
		}
	default:
		return nil, newError(reasonWrongTokenUse)
	}
	if clientID == "" {
		return nil, newError(reasonClientNotAllow)
	}
	if std.Subject == "" {
		return nil, newError(reasonMissingSub)
	}

	now := v.now()
	if std.Expiry == nil {
		return nil, newError(reasonMissingExp)
	}
	exp := std.Expiry.Time()
	if now.After(exp.Add(v.leeway)) {
		return nil, newError(reasonExpired)
	}
	if std.NotBefore != nil && std.NotBefore.Time().After(now.Add(v.leeway)) {
		return nil, newError(reasonNotYetValid)
	}
	var iat time.Time
	if std.IssuedAt != nil {
		iat = std.IssuedAt.Time()
		if iat.After(now.Add(v.leeway)) {
			return nil, newError(reasonIssuedInFuture)
		}
	}

	username := cog.CognitoUsername
	if username == "" {
		username = cog.Username
	}
	if username == "" {
		username = std.Subject
	}
	return &Claims{
		Subject:   std.Subject,
		Username:  username,
		Email:     cog.Email,
		Groups:    cog.Groups,
		TokenUse:  cog.TokenUse,
		ClientID:  clientID,
		Issuer:    std.Issuer,
		IssuedAt:  iat,
		ExpiresAt: exp,
	}, nil
}

// algReason names a refused algorithm, unless the header's alg is not a
// plausible algorithm name: it comes from the client and is echoed back.
func algReason(alg string) string {
	if alg == "" {
		return reasonMalformed
	}
	if len(alg) > 16 || strings.IndexFunc(alg, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '+')
	}) >= 0 {
		return reasonAlgNotAllowed
	}
	return reasonAlgNotAllowed + ": " + alg
}
