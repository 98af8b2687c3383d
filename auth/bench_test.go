package auth_test

import (
	"context"
	"testing"

	"github.com/cloudplatform/cloud/auth/authtest"
)

// BenchmarkVerify measures the check every authenticated request pays:
// parsing, the RS256 signature and the claims, with the key cached.
func BenchmarkVerify(b *testing.B) {
	iss := authtest.New(b)
	v := iss.Verifier(b)
	token := iss.Sign(b, authtest.Token{Subject: "s", Username: "u", Groups: []string{"admin"}})
	ctx := context.Background()
	if _, err := v.Verify(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRejected measures refusing a token with a bad signature,
// what a client guessing tokens costs the server.
func BenchmarkVerifyRejected(b *testing.B) {
	iss := authtest.New(b)
	v := iss.Verifier(b)
	token := authtest.Tamper(iss.Sign(b, authtest.Token{Subject: "s", Username: "u"}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err == nil {
			b.Fatal("accepted a tampered token")
		}
	}
}
