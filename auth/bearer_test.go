package auth_test

import (
	"net/http/httptest"
	"testing"

	"github.com/cloudplatform/cloud/auth"
)

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string
		want    string
		wantErr bool
	}{
		{"no header", nil, "", false},
		{"bearer", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", false},
		{"scheme case-insensitive", []string{"bEaReR abc"}, "abc", false},
		{"extra spaces", []string{"  Bearer   abc  "}, "abc", false},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, "", true},
		{"scheme only", []string{"Bearer"}, "", true},
		{"empty token", []string{"Bearer   "}, "", true},
		{"token with space", []string{"Bearer abc def"}, "", true},
		{"bare token", []string{"abc.def.ghi"}, "", true},
		{"empty header", []string{""}, "", true},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := auth.BearerToken(r)
			if tc.wantErr {
				if got, want := reasonOf(t, err), "malformed authorization header"; got != want {
					t.Fatalf("reason = %q, want %q", got, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("BearerToken: %v", err)
			}
			if got != tc.want {
				t.Errorf("token = %q, want %q", got, tc.want)
			}
		})
	}
}
