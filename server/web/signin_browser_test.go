package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cloudplatform/cloud/auth/cognitolocal"
	"github.com/cloudplatform/cloud/server/servertest"
)

// signInState is what the page shows of the session, read from the DOM
// and sessionStorage.
type signInState struct {
	Form      bool   `json:"form"`
	Focused   string `json:"focused"`
	Error     string `json:"error"`
	UserShown bool   `json:"userShown"`
	Username  string `json:"username"`
	Session   string `json:"session"`
	Local     int    `json:"local"`
	Cookie    string `json:"cookie"`
}

const readSignIn = `(() => {
  const err = document.querySelector('#signin-error');
  return {
    form: !!document.querySelector('form#signin'),
    focused: document.activeElement ? document.activeElement.id : '',
    error: err ? err.textContent : '',
    userShown: !document.querySelector('#user').hidden,
    username: document.querySelector('#username').textContent,
    session: sessionStorage.getItem('cloud.session') || '',
    local: localStorage.length,
    cookie: document.cookie,
  };
})()`

// login signs in over the server's /auth/login and returns the ID token.
func login(t *testing.T, url, user, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	res, err := http.Post(url+"/auth/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		IDToken  string `json:"idToken"`
		Detail   string `json:"detail"`
		Username string `json:"username"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("POST /auth/login: %d: %v", res.StatusCode, err)
	}
	if res.StatusCode != http.StatusOK || out.IDToken == "" {
		t.Fatalf("POST /auth/login as %s: %d %s", user, res.StatusCode, out.Detail)
	}
	return out.IDToken
}

// The dashboard of `cloud serve --auth cognito`, against cognito-local:
// the sign-in form (a wrong password, then the right one), the list with
// the token on every request and subscription, a deploy by an admin seen
// live, a reload that keeps the session, renewal after the server refuses
// the token (HTTP 401 and WebSocket 4403), the end of a session that
// cannot be renewed, and signing out.
func TestDashboardSignIn(t *testing.T) {
	idp := cognitolocal.Start(t)
	pool := idp.CreatePool(t, "dashboard")
	const password = "Correct-horse-9"
	idp.CreateUser(t, pool, "vera", password, "viewer")
	idp.CreateUser(t, pool, "ada", password, "admin")

	ctx := browser(t)
	home := t.TempDir()
	servertest.MustCloud(t, home, "init", "--id", "DSIGN01", "--org", "acme", "--project", "shop", "--domain", "shop.example.com")
	s := servertest.Start(t, home, "--auth", "cognito", "--cognito-issuer", pool.Issuer,
		"--cognito-client-id", pool.ClientID, "--cognito-endpoint", idp.Endpoint, "--cognito-region", cognitolocal.Region)

	// The page is public; the API is not.
	res, err := http.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d", res.StatusCode)
	}
	checkSecurityHeaders(t, "cloud serve --auth cognito /", res.Header)
	res, err = http.Post(s.URL+"/graphql", "application/json", strings.NewReader(`{"query":"{ deployments(first: 1) { nodes { id } } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST /graphql without a token: %d, want 401", res.StatusCode)
	}

	// The sign-in form, focused on the username.
	do(t, ctx, "open the page", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`form#signin #signin-username`)))
	st := eval[signInState](t, ctx, readSignIn)
	if !st.Form || st.Focused != "signin-username" || st.UserShown || st.Session != "" || st.Error != "" {
		t.Fatalf("the sign-in form: %+v", st)
	}
	labels := eval[string](t, ctx, `[...document.querySelectorAll('#signin label')].map((l) => l.htmlFor + '=' + l.textContent).join(',')`)
	if labels != "signin-username=Username,signin-password=Password" {
		t.Errorf("labels: %q", labels)
	}
	if live := eval[string](t, ctx, `document.querySelector('#signin-error').getAttribute('role')`); live != "alert" {
		t.Errorf("the error line's role is %q, want alert", live)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#deployments').length`); n != 0 {
		t.Errorf("the dashboard shows before sign-in")
	}
	saveScreenshot(t, ctx, "signin-form.png")

	// A wrong password, submitted with Enter: the server's reason, still
	// on the form.
	do(t, ctx, "sign in with a wrong password",
		chromedp.SendKeys(chromedp.CSS(`#signin-username`), "vera"),
		chromedp.SendKeys(chromedp.CSS(`#signin-password`), "wrong-password"+kb.Enter),
	)
	waitFor(t, ctx, "the sign-in error", `document.querySelector('#signin-error').textContent !== '' && !document.querySelector('#signin[aria-busy]')`, 30*time.Second)
	st = eval[signInState](t, ctx, readSignIn)
	if !st.Form || st.Session != "" || st.UserShown || !strings.Contains(st.Error, "wrong username or password") {
		t.Fatalf("after a wrong password: %+v", st)
	}
	if st.Focused != "signin-password" {
		t.Errorf("after a wrong password the focus is on %q, want the password", st.Focused)
	}
	t.Logf("wrong password: %q", st.Error)
	saveScreenshot(t, ctx, "signin-error.png")

	// The right one: the list, the user in the header, the tokens in
	// sessionStorage only, and the subscription live.
	do(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS(`#signin-password`), password),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#deployments tr[data-id="DSIGN01"] a.dep`)),
	)
	waitFor(t, ctx, "the live list", `!!window.__dashboard.ws && window.__dashboard.ws.readyState === 1 && document.querySelector('#conn').textContent === 'live'`, 30*time.Second)
	st = eval[signInState](t, ctx, readSignIn)
	var session struct {
		IDToken, RefreshToken, ExpiresAt, Username string
	}
	if err := json.Unmarshal([]byte(st.Session), &session); err != nil {
		t.Fatalf("sessionStorage: %q: %v", st.Session, err)
	}
	if st.Form || !st.UserShown || st.Username != "vera" || session.IDToken == "" || session.RefreshToken == "" || session.Username != "vera" {
		t.Fatalf("signed in: %+v", st)
	}
	if st.Local != 0 || st.Cookie != "" {
		t.Errorf("tokens outside sessionStorage: %d localStorage keys, cookie %q", st.Local, st.Cookie)
	}
	if exp, err := time.Parse(time.RFC3339, session.ExpiresAt); err != nil || time.Until(exp) < 10*time.Minute {
		t.Errorf("expiresAt %q (%v)", session.ExpiresAt, err)
	}

	// An admin deploys over REST with a token of its own; the viewer's
	// list follows it live.
	listEvents := eval[int](t, ctx, `window.__dashboard.listEvents`)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/deployments/DSIGN01/environments/dev/deploy", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+login(t, s.URL, "ada", password))
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST deploy as admin: %d", res.StatusCode)
	}
	waitFor(t, ctx, "the list showing the deploy", `(() => {
	  const tr = document.querySelector('#deployments tr[data-id="DSIGN01"]');
	  return window.__dashboard.listEvents > `+fmt.Sprint(listEvents)+` && !!tr && tr.dataset.status === 'deployed';
	})()`, 2*time.Minute)
	saveScreenshot(t, ctx, "signin-dashboard.png")

	// A viewer reads a deployment's page; secrets stay masked.
	do(t, ctx, "open the deployment", chromedp.Click(chromedp.CSS(`#deployments a[href="#/d/DSIGN01?env=dev"]`)))
	waitFor(t, ctx, "the deployed graph and its outputs", `(() => {
	  const nodes = [...document.querySelectorAll('#stackgraph g.node')];
	  return nodes.length === 6 && nodes.every((g) => g.dataset.status === 'deployed') &&
	    document.querySelectorAll('#outputs-table tbody tr').length > 0 && document.querySelector('#conn').textContent === 'live';
	})()`, 30*time.Second)
	if pw := eval[string](t, ctx, `(() => { const tr = document.querySelector('#outputs-table tr[data-output="database.password"]');
	  return tr ? tr.dataset.secret + ' ' + tr.querySelector('td').textContent : ''; })()`); !strings.HasPrefix(pw, "true ") || strings.Contains(pw, "change-me") {
		t.Errorf("database.password for a viewer: %q", pw)
	}
	do(t, ctx, "back to the list", chromedp.Navigate(s.URL+"/#/"))

	// A reload keeps the session.
	do(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#deployments tr[data-id="DSIGN01"]`)))
	st = eval[signInState](t, ctx, readSignIn)
	if st.Form || !st.UserShown || st.Username != "vera" {
		t.Fatalf("after a reload: %+v", st)
	}

	// A token the server refuses over HTTP (401): the page renews the
	// tokens with the refresh token and retries.
	eval[bool](t, ctx, `(() => { const s = JSON.parse(sessionStorage.getItem('cloud.session')); s.idToken = 'not-a-token';
	  sessionStorage.setItem('cloud.session', JSON.stringify(s)); return true; })()`)
	do(t, ctx, "reload with a bad token", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#deployments tr[data-id="DSIGN01"]`)))
	st = eval[signInState](t, ctx, readSignIn)
	if st.Form || st.Username != "vera" || strings.Contains(st.Session, "not-a-token") {
		t.Fatalf("after a refused token: %+v", st)
	}

	// …and over the WebSocket (4403): renew, reconnect, live again.
	waitFor(t, ctx, "the live list", `!!window.__dashboard.ws && window.__dashboard.ws.readyState === 1 && document.querySelector('#conn').textContent === 'live'`, 30*time.Second)
	reconnects := eval[int](t, ctx, `window.__dashboard.reconnects`)
	eval[bool](t, ctx, `(() => { const s = JSON.parse(sessionStorage.getItem('cloud.session')); s.idToken = 'not-a-token';
	  sessionStorage.setItem('cloud.session', JSON.stringify(s)); window.__dashboard.ws.close(); return true; })()`)
	waitFor(t, ctx, "a refused socket, renewed", `window.__dashboard.reconnects === `+fmt.Sprint(reconnects+2)+` && window.__dashboard.lastClose === 4403 &&
	  !!window.__dashboard.ws && window.__dashboard.ws.readyState === 1 && document.querySelector('#conn').textContent === 'live' &&
	  !sessionStorage.getItem('cloud.session').includes('not-a-token')`, 10*time.Second)

	// Tokens about to expire are renewed ahead of time, and the WebSocket
	// moves over to the new one without a lost connection.
	eval[bool](t, ctx, `(() => { const s = JSON.parse(sessionStorage.getItem('cloud.session')); s.expiresAt = new Date(Date.now() + 20000).toISOString();
	  sessionStorage.setItem('cloud.session', JSON.stringify(s)); return true; })()`)
	do(t, ctx, "reload with tokens about to expire", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#deployments tr[data-id="DSIGN01"]`)))
	waitFor(t, ctx, "the tokens renewed and the socket moved over", `(() => {
	  const s = JSON.parse(sessionStorage.getItem('cloud.session'));
	  return Date.parse(s.expiresAt) - Date.now() > 600000 && window.__dashboard.reconnects === 1 &&
	    !!window.__dashboard.ws && window.__dashboard.ws.readyState === 1 && document.querySelector('#conn').textContent === 'live';
	})()`, 45*time.Second)
	if lost := eval[string](t, ctx, `document.querySelector('#live').textContent`); strings.Contains(lost, "Connection lost") {
		t.Errorf("the handover announced a lost connection: %q", lost)
	}

	// A session that cannot be renewed ends: the form, with why.
	eval[bool](t, ctx, `(() => { const s = JSON.parse(sessionStorage.getItem('cloud.session')); s.idToken = 'not-a-token'; s.refreshToken = 'not-a-refresh-token';
	  sessionStorage.setItem('cloud.session', JSON.stringify(s)); return true; })()`)
	do(t, ctx, "reload with a dead session", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`form#signin`)))
	waitFor(t, ctx, "the session ended", `document.querySelector('#signin-error').textContent.includes('Your session ended')`, 30*time.Second)
	st = eval[signInState](t, ctx, readSignIn)
	if st.Session != "" || st.UserShown || st.Focused != "signin-username" {
		t.Fatalf("after a dead session: %+v", st)
	}
	t.Logf("session ended: %q", st.Error)
	saveScreenshot(t, ctx, "signin-session-ended.png")

	// Sign in again, then out.
	do(t, ctx, "sign in again",
		chromedp.SendKeys(chromedp.CSS(`#signin-username`), "vera"),
		chromedp.SendKeys(chromedp.CSS(`#signin-password`), password+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#deployments tr[data-id="DSIGN01"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#signout`)),
	)
	refresh := eval[string](t, ctx, `JSON.parse(sessionStorage.getItem('cloud.session')).refreshToken`)
	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`#signout`)), chromedp.WaitVisible(chromedp.CSS(`form#signin`)))
	st = eval[signInState](t, ctx, readSignIn)
	if !st.Form || st.Session != "" || st.UserShown || st.Error != "" || st.Focused != "signin-username" {
		t.Fatalf("after signing out: %+v", st)
	}
	if ws := eval[bool](t, ctx, `!!window.__dashboard.ws`); ws {
		t.Errorf("a WebSocket is still open after signing out")
	}
	// Signing out revoked the refresh token in Cognito (the page does
	// not wait for it, so allow it a moment).
	revoked := false
	for range 50 {
		body, _ := json.Marshal(map[string]string{"refreshToken": refresh})
		resp, err := http.Post(s.URL+"/auth/refresh", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			revoked = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !revoked {
		t.Errorf("the refresh token still works after signing out")
	}
	// Signed out, an address of the dashboard shows the form too.
	do(t, ctx, "open a deployment signed out", chromedp.Navigate(s.URL+"/#/d/DSIGN01?env=dev"), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`form#signin`)))
}
