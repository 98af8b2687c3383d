package cognito_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cloudplatform/cloud/auth/cognito"
	"github.com/cloudplatform/cloud/auth/cognitolocal"
)

const password = "Passw0rd!"

// setup starts cognito-local with a pool holding alice (admin) and returns
// the server and a client of the pool.
func setup(t *testing.T) (*cognitolocal.Server, cognitolocal.Pool, cognito.Client) {
	t.Helper()
	s := cognitolocal.Start(t)
	p := s.CreatePool(t, "test")
	s.CreateUser(t, p, "alice", password, "admin")
	return s, p, cognito.Client{Region: p.Region, ClientID: p.ClientID, Endpoint: s.Endpoint}
}

func TestClient_Login(t *testing.T) {
	s, p, c := setup(t)
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		before := time.Now()
		tok, err := c.Login(ctx, "alice", password)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(strings.Split(tok.IDToken, ".")), 3; got != want {
			t.Errorf("ID token has %d parts, want %d", got, want)
		}
		if tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Errorf("tokens missing: %+v", tok)
		}
		if got, want := tok.Username, "alice"; got != want {
			t.Errorf("Username = %q, want %q", got, want)
		}
		// The pool's tokens last an hour.
		if d := tok.ExpiresAt.Sub(before); d < 55*time.Minute || d > 61*time.Minute {
			t.Errorf("ExpiresAt in %s, want about an hour", d)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		_, err := c.Login(ctx, "alice", "wrong")
		if !errors.Is(err, cognito.ErrBadCredentials) {
			t.Fatalf("err = %v, want ErrBadCredentials", err)
		}
		if !strings.Contains(err.Error(), "wrong username or password") {
			t.Errorf("err = %q", err)
		}
	})
	t.Run("UnknownUser", func(t *testing.T) {
		_, err := c.Login(ctx, "mallory", password)
		if !errors.Is(err, cognito.ErrBadCredentials) {
			t.Fatalf("err = %v, want ErrBadCredentials", err)
		}
	})
	t.Run("NewPasswordRequired", func(t *testing.T) {
		// An administrator created bob with a temporary password.
		if _, err := s.Client(t).AdminCreateUser(ctx, &cip.AdminCreateUserInput{
			UserPoolId:        aws.String(p.ID),
			Username:          aws.String("bob"),
			TemporaryPassword: aws.String("Temp0rary!"),
			MessageAction:     types.MessageActionTypeSuppress,
		}); err != nil {
			t.Fatal(err)
		}
		_, err := c.Login(ctx, "bob", "Temp0rary!")
		var ce *cognito.ChallengeError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want a ChallengeError", err)
		}
		if got, want := ce.Name, "NEW_PASSWORD_REQUIRED"; got != want {
			t.Errorf("Name = %q, want %q", got, want)
		}
		if !strings.Contains(err.Error(), "NEW_PASSWORD_REQUIRED") || !strings.Contains(err.Error(), "admin-set-user-password") {
			t.Errorf("err = %q, want the challenge and what to do", err)
		}
	})
	t.Run("UnknownClient", func(t *testing.T) {
		c := c
		c.ClientID = "nope"
		if _, err := c.Login(ctx, "alice", password); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestClient_Refresh(t *testing.T) {
	_, _, c := setup(t)
	ctx := context.Background()
	tok, err := c.Login(ctx, "alice", password)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		n, err := c.Refresh(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if n.IDToken == "" || n.IDToken == tok.IDToken {
			t.Errorf("ID token not renewed")
		}
		if n.AccessToken == "" || n.AccessToken == tok.AccessToken {
			t.Errorf("access token not renewed")
		}
		// cognito-local, like Cognito without rotation, sends no new
		// refresh token: the old one is kept.
		if got, want := n.RefreshToken, tok.RefreshToken; got != want {
			t.Errorf("RefreshToken changed")
		}
		if got, want := n.Username, "alice"; got != want {
			t.Errorf("Username = %q, want %q", got, want)
		}
		if n.ExpiresAt.IsZero() {
			t.Errorf("ExpiresAt not set")
		}
	})
	t.Run("Rejected", func(t *testing.T) {
		bad := *tok
		bad.RefreshToken = "not-a-token"
		_, err := c.Refresh(ctx, &bad)
		if !errors.Is(err, cognito.ErrSessionExpired) {
			t.Fatalf("err = %v, want ErrSessionExpired", err)
		}
	})
	t.Run("NoRefreshToken", func(t *testing.T) {
		_, err := c.Refresh(ctx, &cognito.Tokens{})
		if !errors.Is(err, cognito.ErrSessionExpired) {
			t.Fatalf("err = %v, want ErrSessionExpired", err)
		}
	})
	// Last: a revoked refresh token gets no more tokens, and revoking it
	// again is no error.
	t.Run("Revoked", func(t *testing.T) {
		if err := c.Revoke(ctx, tok.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Refresh(ctx, tok); !errors.Is(err, cognito.ErrSessionExpired) {
			t.Fatalf("refresh after revoke: err = %v, want ErrSessionExpired", err)
		}
		if err := c.Revoke(ctx, tok.RefreshToken); err != nil {
			t.Errorf("second revoke: %v", err)
		}
	})
}

func TestServerKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://cloud.example.com", "https://cloud.example.com"},
		{"https://cloud.example.com/", "https://cloud.example.com"},
		{"HTTPS://Cloud.Example.com:443/api/?x=1#y", "https://cloud.example.com"},
		{"http://localhost:8080/", "http://localhost:8080"},
		{"http://localhost:80", "http://localhost"},
		{"https://localhost:80", "https://localhost:80"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"http://[::1]", "http://[::1]"},
		{" http://127.0.0.1:9000 ", "http://127.0.0.1:9000"},
	} {
		got, err := cognito.ServerKey(tt.in)
		if err != nil {
			t.Errorf("ServerKey(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ServerKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, in := range []string{"", "cloud.example.com", "localhost:8080", "ftp://x", "http://", "http://:8080"} {
		if got, err := cognito.ServerKey(in); err == nil {
			t.Errorf("ServerKey(%q) = %q, want an error", in, got)
		}
	}
}

func entry(server string) cognito.Entry {
	return cognito.Entry{
		Server: server,
		Client: cognito.Client{Region: "eu-west-1", ClientID: "client"},
		Tokens: cognito.Tokens{
			IDToken: "id." + server, AccessToken: "access", RefreshToken: "refresh",
			ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Username: "alice",
		},
	}
}

func TestStore_Save(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "cloud")
	s := cognito.Store{Path: filepath.Join(dir, "tokens.json")}
	a, b := entry("https://a.example.com"), entry("http://localhost:8080")
	for _, e := range []cognito.Entry{a, b} {
		if err := s.Save(e); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Modes", func(t *testing.T) {
		fi, err := os.Stat(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("file mode = %v, want %v", got, want)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := di.Mode().Perm(), os.FileMode(0o700); got != want {
			t.Errorf("dir mode = %v, want %v", got, want)
		}
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(names) != 1 {
			t.Errorf("files left behind: %v", names)
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		for _, want := range []cognito.Entry{a, b} {
			got, err := s.Load(want.Server)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Tokens.ExpiresAt.Equal(want.Tokens.ExpiresAt) {
				t.Errorf("ExpiresAt = %v, want %v", got.Tokens.ExpiresAt, want.Tokens.ExpiresAt)
			}
			got.Tokens.ExpiresAt = want.Tokens.ExpiresAt
			if *got != want {
				t.Errorf("Load(%q) = %+v, want %+v", want.Server, *got, want)
			}
		}
	})
	t.Run("Normalised", func(t *testing.T) {
		got, err := s.Load("HTTPS://A.example.com:443/")
		if err != nil {
			t.Fatal(err)
		}
		if got.Server != "https://a.example.com" {
			t.Errorf("Server = %q", got.Server)
		}
		e := entry("https://a.example.com/")
		e.Tokens.IDToken = "replaced"
		if err := s.Save(e); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Load("https://a.example.com"); got.Tokens.IDToken != "replaced" {
			t.Errorf("IDToken = %q, want replaced", got.Tokens.IDToken)
		}
	})
	t.Run("TightensMode", func(t *testing.T) {
		if err := os.Chmod(s.Path, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(a); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(s.Path)
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("file mode = %v, want %v", got, want)
		}
	})
}

func TestStore_Load(t *testing.T) {
	s := cognito.Store{Path: filepath.Join(t.TempDir(), "tokens.json")}
	t.Run("NoFile", func(t *testing.T) {
		_, err := s.Load("https://a.example.com")
		if !errors.Is(err, cognito.ErrNotLoggedIn) {
			t.Fatalf("err = %v, want ErrNotLoggedIn", err)
		}
		if got, want := err.Error(), "not logged in to https://a.example.com: run cloud login"; got != want {
			t.Errorf("err = %q, want %q", got, want)
		}
	})
	t.Run("UnknownServer", func(t *testing.T) {
		if err := s.Save(entry("https://a.example.com")); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load("https://b.example.com")
		if !errors.Is(err, cognito.ErrNotLoggedIn) {
			t.Fatalf("err = %v, want ErrNotLoggedIn", err)
		}
	})
	t.Run("Corrupt", func(t *testing.T) {
		s := cognito.Store{Path: filepath.Join(t.TempDir(), "tokens.json")}
		if err := os.WriteFile(s.Path, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load("https://a.example.com")
		if err == nil || errors.Is(err, cognito.ErrNotLoggedIn) {
			t.Fatalf("err = %v, want a read error", err)
		}
	})
}

func TestStore_Delete(t *testing.T) {
	s := cognito.Store{Path: filepath.Join(t.TempDir(), "tokens.json")}
	if err := s.Delete("https://a.example.com"); err != nil {
		t.Fatalf("Delete with no file: %v", err)
	}
	for _, srv := range []string{"https://a.example.com", "https://b.example.com"} {
		if err := s.Save(entry(srv)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete("https://A.example.com/"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("https://a.example.com"); !errors.Is(err, cognito.ErrNotLoggedIn) {
		t.Errorf("Load after Delete: err = %v, want ErrNotLoggedIn", err)
	}
	if _, err := s.Load("https://b.example.com"); err != nil {
		t.Errorf("other server lost: %v", err)
	}
	if err := s.Delete("https://a.example.com"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

func TestStore_Fresh(t *testing.T) {
	srv, _, c := setup(t)
	ctx := context.Background()
	const server = "https://cloud.example.com"
	s := cognito.Store{Path: filepath.Join(t.TempDir(), "tokens.json")}
	login := func(t *testing.T) cognito.Entry {
		t.Helper()
		tok, err := c.Login(ctx, "alice", password)
		if err != nil {
			t.Fatal(err)
		}
		return cognito.Entry{Server: server, Client: c, Tokens: *tok}
	}

	t.Run("NearExpiry", func(t *testing.T) {
		e := login(t)
		e.Tokens.ExpiresAt = time.Now().Add(time.Minute)
		if err := s.Save(e); err != nil {
			t.Fatal(err)
		}
		got, err := s.Fresh(ctx, server, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got.Tokens.IDToken == e.Tokens.IDToken {
			t.Error("ID token not refreshed")
		}
		if d := time.Until(got.Tokens.ExpiresAt); d < 55*time.Minute {
			t.Errorf("ExpiresAt in %s, want about an hour", d)
		}
		saved, err := s.Load(server)
		if err != nil {
			t.Fatal(err)
		}
		if saved.Tokens.IDToken != got.Tokens.IDToken || saved.Tokens.RefreshToken != e.Tokens.RefreshToken {
			t.Error("refreshed tokens not saved")
		}
	})
	t.Run("StillFresh", func(t *testing.T) {
		e := login(t)
		e.Client.Endpoint = "http://127.0.0.1:1" // would fail if called
		if err := s.Save(e); err != nil {
			t.Fatal(err)
		}
		got, err := s.Fresh(ctx, server, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got.Tokens.IDToken != e.Tokens.IDToken {
			t.Error("tokens refreshed although fresh")
		}
	})
	t.Run("Rejected", func(t *testing.T) {
		e := login(t)
		e.Tokens.ExpiresAt = time.Now().Add(-time.Minute)
		e.Tokens.RefreshToken = "revoked"
		if err := s.Save(e); err != nil {
			t.Fatal(err)
		}
		_, err := s.Fresh(ctx, server, time.Minute)
		if !errors.Is(err, cognito.ErrNotLoggedIn) || !errors.Is(err, cognito.ErrSessionExpired) {
			t.Fatalf("err = %v, want ErrNotLoggedIn and ErrSessionExpired", err)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		e := login(t)
		srv.Kill()
		e.Tokens.ExpiresAt = time.Now().Add(time.Minute)
		if err := s.Save(e); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		// Still valid for a minute: the old tokens will do.
		got, err := s.Fresh(ctx, server, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got.Tokens.IDToken != e.Tokens.IDToken {
			t.Error("tokens changed")
		}
		// Expired: nothing will do.
		e.Tokens.ExpiresAt = time.Now().Add(-time.Minute)
		if err := s.Save(e); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Fresh(ctx, server, 5*time.Minute); err == nil || errors.Is(err, cognito.ErrNotLoggedIn) {
			t.Fatalf("err = %v, want a network error", err)
		}
	})
	t.Run("NotLoggedIn", func(t *testing.T) {
		_, err := s.Fresh(ctx, "https://other.example.com", time.Minute)
		if !errors.Is(err, cognito.ErrNotLoggedIn) {
			t.Fatalf("err = %v, want ErrNotLoggedIn", err)
		}
	})
}
