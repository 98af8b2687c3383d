package authtest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cloudplatform/cloud/auth/authtest"
)

// parts decodes the header and payload of a compact token.
func parts(t *testing.T, token string) (header, payload map[string]any, sig string) {
	t.Helper()
	p := strings.Split(token, ".")
	if len(p) != 3 {
		t.Fatalf("token has %d parts, want 3", len(p))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(p[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	return header, payload, p[2]
}

func jwks(t *testing.T, iss *authtest.Issuer) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

func TestIssuer_Sign_CognitoClaims(t *testing.T) {
	iss := authtest.New(t)
	iat := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		use      string
		want     map[string]any
		wantGone []string
	}{
		{"id", map[string]any{"aud": "c1", "cognito:username": "alice", "token_use": "id"}, []string{"client_id", "username"}},
		{"access", map[string]any{"client_id": "c1", "username": "alice", "token_use": "access"}, []string{"aud", "cognito:username"}},
	} {
		t.Run(tc.use, func(t *testing.T) {
			header, claims, _ := parts(t, iss.Sign(t, authtest.Token{
				Subject: "s", Username: "alice", Email: "a@example.com", Groups: []string{"g"},
				TokenUse: tc.use, ClientID: "c1", IssuedAt: iat, NotBefore: iat,
			}))
			if header["alg"] != "RS256" || header["kid"] != iss.Kid() {
				t.Errorf("header = %v, want RS256 with kid %q", header, iss.Kid())
			}
			want := map[string]any{
				"sub": "s", "iss": iss.URL, "email": "a@example.com",
				"iat": float64(iat.Unix()), "nbf": float64(iat.Unix()), "auth_time": float64(iat.Unix()),
				"exp": float64(iat.Add(time.Hour).Unix()),
			}
			for k, v := range tc.want {
				want[k] = v
			}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("claim %s = %v, want %v", k, claims[k], v)
				}
			}
			if g, ok := claims["cognito:groups"].([]any); !ok || len(g) != 1 || g[0] != "g" {
				t.Errorf("cognito:groups = %v", claims["cognito:groups"])
			}
			for _, k := range tc.wantGone {
				if _, ok := claims[k]; ok {
					t.Errorf("claim %s present in a %s token", k, tc.use)
				}
			}
		})
	}
}

func TestIssuer_Sign_Overrides(t *testing.T) {
	iss := authtest.New(t)
	header, claims, _ := parts(t, iss.Sign(t, authtest.Token{
		Kid:   "mine",
		Extra: map[string]any{"exp": nil, "custom": "x"},
	}))
	if header["kid"] != "mine" {
		t.Errorf("kid = %v, want the override", header["kid"])
	}
	if _, ok := claims["exp"]; ok {
		t.Error("exp present after Extra removed it")
	}
	if claims["custom"] != "x" || claims["aud"] != authtest.DefaultClientID {
		t.Errorf("claims = %v", claims)
	}
	header, _, _ = parts(t, iss.Sign(t, authtest.Token{OmitKid: true}))
	if _, ok := header["kid"]; ok {
		t.Errorf("header %v has a kid despite OmitKid", header)
	}
}

func TestIssuer_SignNone(t *testing.T) {
	iss := authtest.New(t)
	header, _, sig := parts(t, iss.SignNone(t, authtest.Token{Subject: "s"}))
	if header["alg"] != "none" || sig != "" {
		t.Errorf("header %v, signature %q; want alg none and no signature", header, sig)
	}
}

func TestIssuer_SignHS256WithPublicKey(t *testing.T) {
	iss := authtest.New(t)
	token := iss.SignHS256WithPublicKey(t, authtest.Token{Subject: "s"})
	header, _, sig := parts(t, token)
	if header["alg"] != "HS256" {
		t.Errorf("alg = %v, want HS256", header["alg"])
	}
	// Recompute the HMAC with the PEM of the published key.
	der, err := x509.MarshalPKIXPublicKey(jwks(t, iss).Keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	mac.Write([]byte(token[:strings.LastIndex(token, ".")]))
	if want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); sig != want {
		t.Error("signature is not the HMAC keyed with the public key's PEM")
	}
}

func TestTamper(t *testing.T) {
	iss := authtest.New(t)
	token := iss.Sign(t, authtest.Token{Subject: "s"})
	tampered := authtest.Tamper(token)
	a, b := strings.Split(token, "."), strings.Split(tampered, ".")
	if a[0] != b[0] || a[2] != b[2] {
		t.Error("Tamper changed the header or the signature")
	}
	pa, _ := base64.RawURLEncoding.DecodeString(a[1])
	pb, _ := base64.RawURLEncoding.DecodeString(b[1])
	if string(pa) == string(pb) {
		t.Error("Tamper did not change the decoded payload")
	}
}

func TestIssuer_Rotate(t *testing.T) {
	iss := authtest.New(t)
	first := iss.Kid()
	second := iss.Rotate(true)
	if second == first || iss.Kid() != second {
		t.Fatalf("Rotate(true) = %q, Kid() = %q, first %q", second, iss.Kid(), first)
	}
	if got := jwks(t, iss).Keys; len(got) != 2 || got[0].KeyID != first || got[1].KeyID != second {
		t.Errorf("JWKS after Rotate(true) = %v, want [%s %s]", got, first, second)
	}
	third := iss.Rotate(false)
	if got := jwks(t, iss).Keys; len(got) != 1 || got[0].KeyID != third || got[0].Use != "sig" || got[0].Algorithm != "RS256" {
		t.Errorf("JWKS after Rotate(false) = %v, want only %s", got, third)
	}
	if got, want := iss.Fetches(), 2; got != want {
		t.Errorf("Fetches = %d, want %d", got, want)
	}
}

func TestIssuer_Verifier(t *testing.T) {
	iss := authtest.New(t)
	v := iss.Verifier(t)
	if v.Issuer() != iss.URL {
		t.Errorf("Issuer() = %q, want %q", v.Issuer(), iss.URL)
	}
	claims, err := v.Verify(context.Background(), iss.Sign(t, authtest.Token{Subject: "s"}))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if claims.ClientID != authtest.DefaultClientID {
		t.Errorf("ClientID = %q, want %q", claims.ClientID, authtest.DefaultClientID)
	}
	if _, err := iss.Verifier(t, "other").Verify(context.Background(), iss.Sign(t, authtest.Token{Subject: "s"})); err == nil {
		t.Error("a verifier for another client accepted the token")
	}
}

func TestIssuer_SetUnavailable(t *testing.T) {
	iss := authtest.New(t)
	iss.SetUnavailable(true)
	resp, err := http.Get(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", resp.StatusCode)
	}
	if got, want := iss.Fetches(), 1; got != want {
		t.Errorf("Fetches = %d, want %d", got, want)
	}
}
