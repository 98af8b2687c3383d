package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/auth"
	"github.com/cloudplatform/cloud/auth/authtest"
)

// reasonOf returns the Reason of err, failing the test if err is not an
// *auth.Error.
func reasonOf(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae *auth.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	if got, want := ae.Error(), "invalid token: "+ae.Reason; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	return ae.Reason
}

// rawToken assembles a compact JWS by hand, for headers authtest does not
// produce.
func rawToken(header, claims map[string]any, sig string) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + sig
}

func TestCognitoIssuer(t *testing.T) {
	if got, want := auth.CognitoIssuer("eu-west-1", "eu-west-1_AbC123"),
		"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"; got != want {
		t.Errorf("CognitoIssuer = %q, want %q", got, want)
	}
}

func TestNewVerifier_Config(t *testing.T) {
	ok := auth.Config{Issuer: "https://issuer.example/pool", ClientIDs: []string{"app"}}
	for _, tc := range []struct {
		name    string
		edit    func(*auth.Config)
		wantErr string // substring; "" means valid
	}{
		{"valid", func(*auth.Config) {}, ""},
		{"missing issuer", func(c *auth.Config) { c.Issuer = "" }, "Config.Issuer is required"},
		{"relative issuer", func(c *auth.Config) { c.Issuer = "cognito/pool" }, "Config.Issuer"},
		{"bad jwks url", func(c *auth.Config) { c.JWKSURL = "ftp://x/keys" }, "Config.JWKSURL"},
		{"no client ids", func(c *auth.Config) { c.ClientIDs = nil }, "Config.ClientIDs is required"},
		{"empty client id", func(c *auth.Config) { c.ClientIDs = []string{"app", ""} }, "Config.ClientIDs contains an empty"},
		{"negative refresh", func(c *auth.Config) { c.RefreshInterval = -time.Second }, "Config.RefreshInterval"},
		{"negative leeway", func(c *auth.Config) { c.Leeway = -time.Second }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			v, err := auth.NewVerifier(cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				if got, want := v.Issuer(), cfg.Issuer; got != want {
					t.Errorf("Issuer() = %q, want %q", got, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewVerifier error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestVerifier_Verify_Rules covers every rejection rule, each with the exact
// Reason, plus the accepted edge cases next to them.
func TestVerifier_Verify_Rules(t *testing.T) {
	iss := authtest.New(t)
	other := authtest.New(t) // a stranger's key, to forge signatures with
	v := iss.Verifier(t, "app1", "app2")
	now := time.Now()
	valid := authtest.Token{Subject: "u-1", Username: "alice", ClientID: "app1"}
	with := func(edit func(*authtest.Token)) authtest.Token {
		tok := valid
		edit(&tok)
		return tok
	}
	goodClaims := map[string]any{
		"sub": "u-1", "iss": iss.URL, "token_use": "id", "aud": "app1",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}

	for _, tc := range []struct {
		name  string
		token func() string
		want  string // Reason; "" means accepted
	}{
		{"valid id token", func() string { return iss.Sign(t, valid) }, ""},

		// Token shape.
		{"empty", func() string { return "" }, "missing token"},
		{"garbage", func() string { return "not-a-jwt" }, "malformed token"},
		{"two parts", func() string { return "eyJhbGciOiJSUzI1NiJ9.e30" }, "malformed token"},
		{"bad base64", func() string { return "!!!.e30.e30" }, "malformed token"},
		{"json encrypted form", func() string { return `{"protected":"x"}` }, "malformed token"},
		{"too long", func() string { return strings.Repeat("a", 64<<10) }, "malformed token"},

		// Algorithms.
		{"alg none", func() string { return iss.SignNone(t, valid) }, "algorithm not allowed: none"},
		{"hs256 keyed with public key", func() string { return iss.SignHS256WithPublicKey(t, valid) }, "algorithm not allowed: HS256"},
		{"rs512", func() string {
			return rawToken(map[string]any{"alg": "RS512", "kid": iss.Kid()}, goodClaims, "c2ln")
		}, "algorithm not allowed: RS512"},
		{"ps256", func() string {
			return rawToken(map[string]any{"alg": "PS256", "kid": iss.Kid()}, goodClaims, "c2ln")
		}, "algorithm not allowed: PS256"},
		{"es256", func() string {
			return rawToken(map[string]any{"alg": "ES256", "kid": iss.Kid()}, goodClaims, "c2ln")
		}, "algorithm not allowed: ES256"},
		{"alg not echoed when odd", func() string {
			return rawToken(map[string]any{"alg": "<script>", "kid": iss.Kid()}, goodClaims, "c2ln")
		}, "algorithm not allowed"},
		{"no alg", func() string {
			return rawToken(map[string]any{"kid": iss.Kid()}, goodClaims, "c2ln")
		}, "malformed token"},

		// Keys and signatures.
		{"missing kid", func() string { return iss.Sign(t, with(func(k *authtest.Token) { k.OmitKid = true })) }, "missing kid"},
		{"unknown kid", func() string { return iss.Sign(t, with(func(k *authtest.Token) { k.Kid = "no-such-key" })) }, "unknown signing key"},
		{"tampered payload", func() string { return authtest.Tamper(iss.Sign(t, valid)) }, "bad signature"},
		{"signed by another key with our kid", func() string {
			return other.Sign(t, with(func(k *authtest.Token) { k.Kid = iss.Kid(); k.Issuer = iss.URL }))
		}, "bad signature"},
		{"signature stripped", func() string {
			s := iss.Sign(t, valid)
			return s[:strings.LastIndex(s, ".")+1]
		}, "bad signature"},

		// Issuer.
		{"wrong issuer", func() string { return iss.Sign(t, with(func(k *authtest.Token) { k.Issuer = other.URL })) }, "wrong issuer"},
		{"issuer with trailing slash", func() string { return iss.Sign(t, with(func(k *authtest.Token) { k.Issuer = iss.URL + "/" })) }, "wrong issuer"},
		{"missing issuer", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.Extra = map[string]any{"iss": nil} }))
		}, "wrong issuer"},

		// token_use and client.
		{"token_use refresh", func() string { return iss.Sign(t, with(func(k *authtest.Token) { k.TokenUse = "refresh" })) }, "wrong token_use"},
		{"missing token_use", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.Extra = map[string]any{"token_use": nil} }))
		}, "wrong token_use"},
		{"id token other client", func() string { return iss.Sign(t, with(func(k *authtest.Token) { k.ClientID = "app3" })) }, "client not allowed"},
		{"id token aud list with allowed client", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.Extra = map[string]any{"aud": []string{"app3", "app2"}} }))
		}, ""},
		{"id token client_id instead of aud", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) {
				k.ClientID = "app3"
				k.Extra = map[string]any{"client_id": "app1"}
			}))
		}, "client not allowed"},
		{"access token other client", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.TokenUse = "access"; k.ClientID = "app3" }))
		}, "client not allowed"},
		{"access token aud instead of client_id", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) {
				k.TokenUse = "access"
				k.ClientID = "app3"
				k.Extra = map[string]any{"aud": "app1"}
			}))
		}, "client not allowed"},
		{"missing sub", func() string { return iss.Sign(t, with(func(k *authtest.Token) { k.Subject = "" })) }, "missing sub"},

		// Times (default leeway 30s).
		{"missing exp", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.Extra = map[string]any{"exp": nil} }))
		}, "missing exp"},
		{"expired", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) {
				k.IssuedAt = now.Add(-2 * time.Hour)
				k.ExpiresAt = now.Add(-time.Minute)
			}))
		}, "token expired"},
		{"expired within leeway", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) {
				k.IssuedAt = now.Add(-time.Hour)
				k.ExpiresAt = now.Add(-10 * time.Second)
			}))
		}, ""},
		{"nbf in the future", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.NotBefore = now.Add(2 * time.Minute) }))
		}, "token not valid yet"},
		{"nbf within leeway", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.NotBefore = now.Add(10 * time.Second) }))
		}, ""},
		{"iat in the future", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) {
				k.IssuedAt = now.Add(2 * time.Minute)
				k.ExpiresAt = now.Add(time.Hour)
			}))
		}, "token issued in the future"},
		{"no iat", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.Extra = map[string]any{"iat": nil} }))
		}, ""},

		// Well signed but ill-typed claims.
		{"exp not a number", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.Extra = map[string]any{"exp": "tomorrow"} }))
		}, "malformed token"},
		{"groups not a list", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.Extra = map[string]any{"cognito:groups": "admin"} }))
		}, "malformed token"},
		{"exp overflows", func() string {
			return iss.Sign(t, with(func(k *authtest.Token) { k.Extra = map[string]any{"exp": 1e300} }))
		}, "malformed token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token()
			claims, err := v.Verify(context.Background(), token)
			if got := reasonOf(t, err); got != tc.want {
				t.Fatalf("Verify reason = %q, want %q", got, tc.want)
			}
			if tc.want == "" && claims == nil {
				t.Fatal("Verify accepted the token but returned nil claims")
			}
			if err != nil && len(token) > 0 && strings.Contains(err.Error(), token) {
				t.Fatal("the error contains the token")
			}
		})
	}
	if got, want := iss.Fetches(), 1; got != want {
		t.Errorf("JWKS fetches = %d, want %d (one lazy fetch, then the unknown kid is rate-limited)", got, want)
	}
}

// TestVerifier_Verify_Accepted checks the Claims of accepted tokens.
func TestVerifier_Verify_Accepted(t *testing.T) {
	iss := authtest.New(t)
	v := iss.Verifier(t, "app1", "app2")
	iat := time.Now().Add(-time.Minute).Truncate(time.Second)
	for _, tc := range []struct {
		name  string
		token authtest.Token
		want  auth.Claims
	}{
		{"id token", authtest.Token{
			Subject: "3f1c-uuid", Username: "alice", Email: "alice@example.com",
			Groups: []string{"admins", "devs"}, TokenUse: "id", ClientID: "app2",
			IssuedAt: iat, ExpiresAt: iat.Add(30 * time.Minute),
		}, auth.Claims{
			Subject: "3f1c-uuid", Username: "alice", Email: "alice@example.com",
			Groups: []string{"admins", "devs"}, TokenUse: "id", ClientID: "app2",
			Issuer: iss.URL, IssuedAt: iat, ExpiresAt: iat.Add(30 * time.Minute),
		}},
		{"access token", authtest.Token{
			Subject: "3f1c-uuid", Username: "bob", Groups: []string{"ops"},
			TokenUse: "access", ClientID: "app1", IssuedAt: iat,
		}, auth.Claims{
			Subject: "3f1c-uuid", Username: "bob", Groups: []string{"ops"},
			TokenUse: "access", ClientID: "app1",
			Issuer: iss.URL, IssuedAt: iat, ExpiresAt: iat.Add(time.Hour),
		}},
		// Without a username claim the subject names the user, so Username
		// is never empty.
		{"username falls back to sub", authtest.Token{
			Subject: "u-9", ClientID: "app1", IssuedAt: iat,
		}, auth.Claims{
			Subject: "u-9", Username: "u-9", TokenUse: "id", ClientID: "app1",
			Issuer: iss.URL, IssuedAt: iat, ExpiresAt: iat.Add(time.Hour),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), iss.Sign(t, tc.token))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkClaims(t, got, &tc.want)
		})
	}
}

func checkClaims(t *testing.T, got, want *auth.Claims) {
	t.Helper()
	if got.Subject != want.Subject || got.Username != want.Username || got.Email != want.Email ||
		got.TokenUse != want.TokenUse || got.ClientID != want.ClientID || got.Issuer != want.Issuer ||
		!slices.Equal(got.Groups, want.Groups) ||
		!got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("claims = %+v\nwant     %+v", *got, *want)
	}
}

// TestVerifier_Verify_Leeway: a negative Leeway means none, and a custom
// one replaces the default.
func TestVerifier_Verify_Leeway(t *testing.T) {
	iss := authtest.New(t)
	now := time.Now()
	token := iss.Sign(t, authtest.Token{Subject: "u", IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-5 * time.Second)})
	for _, tc := range []struct {
		leeway time.Duration
		want   string
	}{
		{0, ""}, // default 30s
		{-1, "token expired"},
		{2 * time.Second, "token expired"},
		{time.Minute, ""},
	} {
		v := iss.VerifierWith(t, auth.Config{Leeway: tc.leeway})
		_, err := v.Verify(context.Background(), token)
		if got := reasonOf(t, err); got != tc.want {
			t.Errorf("Leeway %v: reason = %q, want %q", tc.leeway, got, tc.want)
		}
	}
}

// FuzzVerify feeds arbitrary strings to Verify: it must never panic and
// never accept. The seeds are signed by a key the verifier does not trust
// (under the trusted kid), so no mutation can produce a valid token.
func FuzzVerify(f *testing.F) {
	iss := authtest.New(f)
	stranger := authtest.New(f)
	clk := newClock()
	v := iss.VerifierWith(f, auth.Config{Now: clk.Now})
	if err := v.Warm(context.Background()); err != nil {
		f.Fatalf("Warm: %v", err)
	}
	forged := authtest.Token{Subject: "u", Username: "mallory", Kid: iss.Kid(), Issuer: iss.URL}
	f.Add(stranger.Sign(f, forged))
	forged.TokenUse = "access"
	f.Add(stranger.Sign(f, forged))
	f.Add(iss.SignNone(f, authtest.Token{Subject: "u"}))
	f.Add(iss.SignHS256WithPublicKey(f, authtest.Token{Subject: "u"}))
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.e30.")
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(context.Background(), token)
		if err == nil {
			t.Fatalf("Verify accepted %q: %+v", token, claims)
		}
		reasonOf(t, err)
		if len(token) > 24 && strings.Contains(err.Error(), token) {
			t.Fatalf("error %q contains the token", err)
		}
	})
}
