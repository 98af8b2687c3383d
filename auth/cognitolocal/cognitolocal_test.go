package cognitolocal_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cloudplatform/cloud/auth/cognitolocal"
)

func TestPath_EnvMissing(t *testing.T) {
	t.Setenv(cognitolocal.EnvPath, t.TempDir()+"/nope")
	_, err := cognitolocal.Path()
	if err == nil || !strings.Contains(err.Error(), cognitolocal.EnvPath) {
		t.Fatalf("Path() error = %v, want one naming %s", err, cognitolocal.EnvPath)
	}
}

// TestServer checks the facts the auth packages rely on: a user created by
// CreateUser signs in at once, and its tokens carry the pool's Issuer, the
// client, its groups, and a signature the key at JWKSURL verifies.
func TestServer(t *testing.T) {
	s := cognitolocal.Start(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("Endpoint = %q", s.Endpoint)
	}
	p := s.CreatePool(t, "test")
	if got, want := p.Issuer, s.Endpoint+"/"+p.ID; got != want {
		t.Errorf("Issuer = %q, want %q", got, want)
	}
	s.CreateUser(t, p, "alice", "Passw0rd!", "admin", "viewer")

	anon := cip.New(cip.Options{
		Region:       p.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  aws.AnonymousCredentials{},
	})
	out, err := anon.InitiateAuth(context.Background(), &cip.InitiateAuthInput{
		AuthFlow:       types.AuthFlowTypeUserPasswordAuth,
		ClientId:       aws.String(p.ClientID),
		AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "Passw0rd!"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.ChallengeName != "" {
		t.Fatalf("challenge %s", out.ChallengeName)
	}
	res := out.AuthenticationResult
	key := fetchKey(t, p.JWKSURL)

	t.Run("IDToken", func(t *testing.T) {
		claims := verify(t, key, aws.ToString(res.IdToken))
		checkCommon(t, claims, p, "id")
		if got, want := claims["aud"], p.ClientID; got != want {
			t.Errorf("aud = %v, want %v", got, want)
		}
		if got, want := claims["cognito:username"], "alice"; got != want {
			t.Errorf("cognito:username = %v, want %v", got, want)
		}
	})
	t.Run("AccessToken", func(t *testing.T) {
		claims := verify(t, key, aws.ToString(res.AccessToken))
		checkCommon(t, claims, p, "access")
		if got, want := claims["client_id"], p.ClientID; got != want {
			t.Errorf("client_id = %v, want %v", got, want)
		}
		if got, want := claims["username"], "alice"; got != want {
			t.Errorf("username = %v, want %v", got, want)
		}
	})
}

func checkCommon(t *testing.T, claims map[string]any, p cognitolocal.Pool, use string) {
	t.Helper()
	if got, want := claims["iss"], p.Issuer; got != want {
		t.Errorf("iss = %v, want %v", got, want)
	}
	if got, want := claims["token_use"], use; got != want {
		t.Errorf("token_use = %v, want %v", got, want)
	}
	var groups []string
	for _, g := range claims["cognito:groups"].([]any) {
		groups = append(groups, g.(string))
	}
	slices.Sort(groups)
	if got, want := strings.Join(groups, ","), "admin,viewer"; got != want {
		t.Errorf("cognito:groups = %v, want %v", got, want)
	}
	exp := time.Unix(int64(claims["exp"].(float64)), 0)
	if d := time.Until(exp); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("exp in %s, want an hour", d)
	}
}

// fetchKey returns the one RS256 key, kid CognitoLocal, served at url.
func fetchKey(t *testing.T, url string) *rsa.PublicKey {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	var set struct {
		Keys []struct{ Kty, Alg, Kid, N, E string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if k.Kty != "RSA" || k.Alg != "RS256" || k.Kid != "CognitoLocal" {
		t.Fatalf("key %+v", k)
	}
	n, _ := base64.RawURLEncoding.DecodeString(k.N)
	e, _ := base64.RawURLEncoding.DecodeString(k.E)
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
}

// verify checks token's header and RS256 signature and returns its claims.
func verify(t *testing.T, key *rsa.PublicKey, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var header struct{ Alg, Kid string }
	decode(t, parts[0], &header)
	if header.Alg != "RS256" || header.Kid != "CognitoLocal" {
		t.Errorf("header %+v", header)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("signature: %v", err)
	}
	var claims map[string]any
	decode(t, parts[1], &claims)
	return claims
}

func decode(t *testing.T, part string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
