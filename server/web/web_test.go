package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/server/web"
)

// The page and its assets: content types, security headers, 404s, and no
// external URL in any asset (it works offline, without a CDN).
func TestAssets(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()

	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(b)
	}

	for _, c := range []struct{ path, ctype string }{
		{"/", "text/html; charset=utf-8"},
		{"/assets/app.js", "text/javascript; charset=utf-8"},
		{"/assets/app.css", "text/css; charset=utf-8"},
	} {
		res, body := get(c.path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", c.path, res.StatusCode)
		}
		if got := res.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		checkSecurityHeaders(t, c.path, res.Header)
		if body == "" {
			t.Errorf("GET %s: empty body", c.path)
		}
	}
	_, page := get("/")
	for _, want := range []string{`<html lang="en">`, `src="/assets/app.js"`, `href="/assets/app.css"`, `aria-live="polite"`} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}

	for _, path := range []string{"/nope", "/assets/", "/assets/missing.js", "/assets/../web.go", "/index.htm"} {
		if res, _ := get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
	res, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", res.StatusCode)
	}

	// No http:// or https:// URL in any asset, except the SVG namespace
	// name (an identifier the browser never fetches).
	url := regexp.MustCompile(`(?i)https?://[^\s'"<>)]*`)
	for _, path := range []string{"/", "/assets/app.js", "/assets/app.css"} {
		_, body := get(path)
		for _, u := range url.FindAllString(body, -1) {
			if u != "http://www.w3.org/2000/svg" {
				t.Errorf("%s refers to an external URL: %s", path, u)
			}
		}
		if strings.Contains(body, "//cdn") || strings.Contains(body, "@import") {
			t.Errorf("%s loads something from elsewhere", path)
		}
	}
}

func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "connect-src 'self' ws: wss:", "frame-ancestors 'none'", "script-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy allows unsafe code: %q", what, csp)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", what, got)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("%s: Referrer-Policy %q", what, got)
	}
}
