package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cloudplatform/cloud/server/servertest"
)

// chromium is the browser the test drives: $CLOUD_CHROMIUM or Debian's
// /usr/bin/chromium (tools/install/chromium.sh, `make browser`).
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CLOUD_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no chromium at %s (%v): run `make browser` (tools/install/chromium.sh) or set CLOUD_CHROMIUM", p, err)
	}
	return p
}

func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.Flag("headless", "new"),
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1400, 1000),
	)
	// No timeout here: the browser lives as long as this context. The
	// waits below have their own guards.
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Exceptions and Content-Security-Policy violations fail the test.
	messages := chromedp.Console(bctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			switch {
			case m.Type == chromedp.ConsoleException, strings.Contains(m.Text, "Content Security Policy"):
				t.Errorf("page: %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
			case m.Type == chromedp.ConsoleError, m.Type == chromedp.ConsoleWarning:
				t.Logf("page: %s: %s", m.Type, m.Text)
			}
		}
	}()
	t.Cleanup(func() { bcancel(); <-done })
	return bctx
}

// do runs the steps, guarded by a minute.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Steps(steps...)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ectx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ectx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JS expression in the page until it is true; the timeout
// is a guard only.
func waitFor(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		dump, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#main') ? document.querySelector('#main').innerText.slice(0, 4000) : ''`))
		t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, dump)
	}
}

func graphql(t *testing.T, url, query string, vars map[string]any, out any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	res, err := http.Post(url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Fatalf("graphql: %v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		t.Fatal(err)
	}
}

// pageState is what the dashboard shows, read from the DOM.
type pageState struct {
	Nodes []struct {
		Stack  string `json:"stack"`
		Status string `json:"status"`
		Text   string `json:"text"`
		Layer  int    `json:"layer"`
	} `json:"nodes"`
	Layers  int         `json:"layers"`
	Edges   [][2]string `json:"edges"`
	LogSeqs []int       `json:"logSeqs"`
	Outputs []struct {
		Name   string `json:"name"`
		Text   string `json:"text"`
		Secret bool   `json:"secret"`
	} `json:"outputs"`
	History []struct {
		Kind     string `json:"kind"`
		Status   string `json:"status"`
		Duration string `json:"duration"`
	} `json:"history"`
	Reconnects int `json:"reconnects"`
	LastSeq    int `json:"lastSeq"`
}

const readPage = `(() => {
  const q = (s) => [...document.querySelectorAll(s)];
  return {
    nodes: q('#stackgraph g.node').map((g) => ({stack: g.dataset.stack, status: g.dataset.status, text: g.textContent, layer: +g.dataset.layer})),
    layers: q('#stackgraph g.layer').length,
    edges: q('#stackgraph path.edge').map((p) => [p.dataset.from, p.dataset.to]),
    logSeqs: q('#log li').map((li) => +li.dataset.seq),
    outputs: q('#outputs-table tbody tr').map((tr) => ({name: tr.dataset.output, text: tr.querySelector('td').textContent, secret: tr.dataset.secret === 'true'})),
    history: q('#history-table tbody tr').map((tr) => ({kind: tr.dataset.kind, status: tr.dataset.status, duration: tr.querySelector('.duration').textContent})),
    reconnects: window.__dashboard.reconnects,
    lastSeq: window.__dashboard.lastSeq,
  };
})()`

// The dashboard against the real server: the list, keyboard navigation to
// a deployment, then one real deploy followed live — with the WebSocket
// closed from the page mid-deploy, so the page must reconnect and resume
// after its last globalSeq — until the graph shows every stack deployed.
func TestDashboardFollowsADeploy(t *testing.T) {
	ctx := browser(t)
	home := t.TempDir()
	servertest.MustCloud(t, home, "init", "--id", "DWEB001", "--org", "acme", "--project", "shop", "--domain", "shop.example.com")
	s := servertest.Start(t, home)

	// The page itself, from the real server, with its headers.
	res, err := http.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	checkSecurityHeaders(t, "cloud serve /", res.Header)

	var plan struct {
		Plan struct {
			Stacks []struct {
				Name         string
				Layer        int
				Dependencies []string
			}
			Layers [][]string
		}
	}
	graphql(t, s.URL, `query { plan(deploymentId: "DWEB001", environment: "dev") { stacks { name layer dependencies } layers } }`, nil, &plan)
	if len(plan.Plan.Stacks) != 6 || len(plan.Plan.Layers) != 5 {
		t.Fatalf("the demo's plan has %d stacks in %d layers, want 6 in 5", len(plan.Plan.Stacks), len(plan.Plan.Layers))
	}

	// The list, then to the deployment's dev page with the keyboard.
	do(t, ctx, "open the list",
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#deployments tr[data-id="DWEB001"] a.dep`)),
	)
	listText := eval[string](t, ctx, `document.querySelector('#deployments').innerText`)
	if !strings.Contains(listText, "DWEB001") || !strings.Contains(listText, "acme") {
		t.Fatalf("the list does not show DWEB001:\n%s", listText)
	}
	do(t, ctx, "go to the deployment with the keyboard",
		chromedp.Focus(chromedp.CSS(`#deployments a[href="#/d/DWEB001?env=dev"]`)),
		chromedp.KeyEvent(kb.Enter),
	)
	waitFor(t, ctx, "the graph", `document.querySelectorAll('#stackgraph g.node').length === 6`, 30*time.Second)
	hash := eval[string](t, ctx, `location.hash`)
	if hash != "#/d/DWEB001?env=dev" {
		t.Fatalf("location.hash = %q", hash)
	}
	waitFor(t, ctx, "the subscription", `!!window.__dashboard.ws && window.__dashboard.ws.readyState === 1 && document.querySelector('#conn').textContent === 'live'`, 30*time.Second)

	// Arrow keys move between the graph's boxes.
	do(t, ctx, "move in the graph",
		chromedp.Focus(chromedp.CSS(`#stackgraph g.node[data-layer="0"]`)),
		chromedp.KeyEvent(kb.ArrowRight),
	)
	focused := eval[string](t, ctx, `document.activeElement.dataset.layer || ''`)
	if focused != "1" {
		t.Errorf("ArrowRight from layer 0 focused layer %q, want 1", focused)
	}

	// One real deploy, started over REST while the page is open.
	res, err = http.Post(s.URL+"/api/v1/deployments/DWEB001/environments/dev/deploy", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST deploy: %d", res.StatusCode)
	}

	// Mid-deploy (the first stack is done, the others are not), the page
	// loses its connection.
	waitFor(t, ctx, "the first deployed stack", `document.querySelectorAll('#stackgraph g.node[data-status="deployed"]').length >= 1`, 2*time.Minute)
	before := eval[pageState](t, ctx, readPage)
	eval[bool](t, ctx, `(window.__dashboard.ws.close(), true)`)
	deployed := 0
	for _, n := range before.Nodes {
		if n.Status == "deployed" {
			deployed++
		}
	}
	if deployed == len(before.Nodes) {
		t.Fatalf("every stack was deployed before the connection was closed; the reconnect was not tested")
	}

	waitFor(t, ctx, "every stack deployed and the deploy in the history", `(() => {
	  const nodes = [...document.querySelectorAll('#stackgraph g.node')];
	  const h = document.querySelector('#history-table tbody tr');
	  return nodes.length === 6 && nodes.every((g) => g.dataset.status === 'deployed') &&
	    !!h && h.dataset.kind === 'deploy' && h.dataset.status === 'succeeded' &&
	    document.querySelectorAll('#outputs-table tbody tr').length > 0 && window.__dashboard.ws && window.__dashboard.ws.readyState === 1;
	})()`, 3*time.Minute)
	got := eval[pageState](t, ctx, readPage)

	// The graph: the plan's stacks, in its layers, with its edges.
	want := map[string]int{}
	var wantEdges []string
	for _, st := range plan.Plan.Stacks {
		want[st.Name] = st.Layer
		for _, d := range st.Dependencies {
			wantEdges = append(wantEdges, d+"->"+st.Name)
		}
	}
	if len(got.Nodes) != 6 || got.Layers != 5 {
		t.Errorf("graph: %d boxes in %d columns, want 6 in 5", len(got.Nodes), got.Layers)
	}
	for _, n := range got.Nodes {
		if l, ok := want[n.Stack]; !ok || l != n.Layer {
			t.Errorf("graph: box %s in layer %d, plan says %d (known %v)", n.Stack, n.Layer, l, ok)
		}
		if n.Status != "deployed" || !strings.Contains(n.Text, n.Stack) || !strings.Contains(n.Text, "deployed") {
			t.Errorf("graph: box %s status %q text %q", n.Stack, n.Status, n.Text)
		}
	}
	var gotEdges []string
	for _, e := range got.Edges {
		gotEdges = append(gotEdges, e[0]+"->"+e[1])
	}
	sort.Strings(gotEdges)
	sort.Strings(wantEdges)
	if strings.Join(gotEdges, " ") != strings.Join(wantEdges, " ") || len(gotEdges) < 6 {
		t.Errorf("graph edges:\n got %v\nwant %v", gotEdges, wantEdges)
	}

	// The event log: entries, each globalSeq once, in order — across the reconnect.
	if got.Reconnects < 1 {
		t.Errorf("the page did not reconnect (reconnects = %d)", got.Reconnects)
	}
	if len(got.LogSeqs) < 10 || len(got.LogSeqs) <= len(before.LogSeqs) {
		t.Errorf("event log has %d entries (%d before the reconnect)", len(got.LogSeqs), len(before.LogSeqs))
	}
	for i := 1; i < len(got.LogSeqs); i++ {
		if got.LogSeqs[i] <= got.LogSeqs[i-1] {
			t.Errorf("event log: globalSeq %d after %d (duplicate or out of order)", got.LogSeqs[i], got.LogSeqs[i-1])
		}
	}
	var events struct {
		DeploymentEvents struct {
			Nodes []struct{ GlobalSeq int }
		}
	}
	graphql(t, s.URL, `query { deploymentEvents(deploymentId: "DWEB001", environment: "dev", first: 500) { nodes { globalSeq } } }`, nil, &events)
	if n := len(events.DeploymentEvents.Nodes); n > 0 && n < 500 {
		last := events.DeploymentEvents.Nodes[n-1].GlobalSeq
		if len(got.LogSeqs) != n || got.LastSeq != last {
			t.Errorf("event log: %d entries up to %d, the store has %d up to %d (a gap?)", len(got.LogSeqs), got.LastSeq, n, last)
		}
	}

	// Outputs: database.password is masked.
	found := false
	for _, o := range got.Outputs {
		if o.Name == "database.password" {
			found = true
			if !o.Secret || !strings.Contains(o.Text, "secret") || strings.Contains(o.Text, "change-me") {
				t.Errorf("output database.password is not masked: %+v", o)
			}
		}
	}
	if !found {
		t.Errorf("outputs lack database.password: %+v", got.Outputs)
	}

	// History: the deploy, with a duration.
	// (as `cloud history` writes it: 850ms, 12.3s, 4m5s)
	if len(got.History) == 0 || got.History[0].Kind != "deploy" || !regexp.MustCompile(`^(\d+\.\ds|(\d+h)?\d+m\d+s)$`).MatchString(got.History[0].Duration) {
		t.Errorf("history: %+v", got.History)
	}
	t.Logf("log entries %d, reconnects %d, history %+v", len(got.LogSeqs), got.Reconnects, got.History)

	// A stack's details: a click on its box in the graph.
	do(t, ctx, "open the database's details",
		chromedp.Click(chromedp.CSS(`#stackgraph g.node[data-stack="database"]`)),
	)
	waitFor(t, ctx, "the details of database", `(() => {
	  const d = document.querySelector('#stack-details');
	  return !!d && !d.hidden && d.dataset.stack === 'database' && d.dataset.status === 'deployed' &&
	    document.querySelectorAll('#stack-outputs tbody tr').length > 0 && document.querySelectorAll('#stack-events li').length > 0;
	})()`, 30*time.Second)
	type stackDetails struct {
		Text, Hash, Focused string
		Outputs             []struct {
			Name, Text string
			Secret     bool
		}
		Events int
	}
	details := eval[stackDetails](t, ctx, `(() => ({
	  text: document.querySelector('#stack-details').innerText,
	  hash: location.hash,
	  focused: document.activeElement.id,
	  outputs: [...document.querySelectorAll('#stack-outputs tbody tr')].map((tr) => ({name: tr.dataset.output, text: tr.querySelector('td').textContent, secret: tr.dataset.secret === 'true'})),
	  events: document.querySelectorAll('#stack-events li').length,
	}))()`)
	for _, want := range []string{"Stack database", "deployed", "Needs", "network, security", "Needed by", "app", "Last run", "deploy"} {
		if !strings.Contains(details.Text, want) {
			t.Errorf("details lack %q:\n%s", want, details.Text)
		}
	}
	if details.Hash != "#/d/DWEB001?env=dev&stack=database" || details.Focused != "h-details" {
		t.Errorf("details: hash %q, focus on %q", details.Hash, details.Focused)
	}
	masked := false
	for _, o := range details.Outputs {
		if o.Name == "password" {
			masked = o.Secret && !strings.Contains(o.Text, "change-me")
		}
	}
	if !masked {
		t.Errorf("details: the password output is not there, masked: %+v", details.Outputs)
	}
	saveScreenshot(t, ctx, "dashboard-stack-details.png")

	// Another stack through the details' own links, then Escape closes
	// and gives the focus back to the graph.
	do(t, ctx, "follow the link to app", chromedp.Click(chromedp.CSS(`#stack-details a[data-goto="app"]`)))
	waitFor(t, ctx, "the details of app", `document.querySelector('#stack-details').dataset.stack === 'app'`, 10*time.Second)
	do(t, ctx, "close the details", chromedp.KeyEvent(kb.Escape))
	waitFor(t, ctx, "the details closed", `document.querySelector('#stack-details').hidden && location.hash === '#/d/DWEB001?env=dev' &&
	  document.activeElement.dataset.stack === 'app'`, 10*time.Second)
	saveScreenshot(t, ctx, "dashboard.png")

	// A link to a stack's details opens them on load.
	do(t, ctx, "open a stack's address", chromedp.Navigate(s.URL+"/#/d/DWEB001?env=dev&stack=network"), chromedp.Reload())
	waitFor(t, ctx, "the details of network on load", `(() => { const d = document.querySelector('#stack-details');
	  return !!d && !d.hidden && d.dataset.stack === 'network'; })()`, 30*time.Second)

	// The list follows every deployment live: a destroy started over REST
	// while it is open shows up through the events subscription.
	do(t, ctx, "back to the list", chromedp.Navigate(s.URL+"/#/"))
	waitFor(t, ctx, "the live list", `!!document.querySelector('#deployments tr[data-id="DWEB001"]') &&
	  !!window.__dashboard.ws && window.__dashboard.ws.readyState === 1 && document.querySelector('#conn').textContent === 'live'`, 30*time.Second)
	listEvents := eval[int](t, ctx, `window.__dashboard.listEvents`)
	res, err = http.Post(s.URL+"/api/v1/deployments/DWEB001/environments/dev/destroy", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST destroy: %d", res.StatusCode)
	}
	waitFor(t, ctx, "the list showing the destroy", `(() => {
	  const tr = document.querySelector('#deployments tr[data-id="DWEB001"]');
	  return window.__dashboard.listEvents > `+fmt.Sprint(listEvents)+` && !!tr && tr.dataset.status !== 'deployed' && tr.dataset.status !== 'deploying';
	})()`, 2*time.Minute)
}

// saveScreenshot keeps a picture of the page in $CLOUD_SCREENSHOTS (default
// .artifacts/screenshots of the repository); `make screenshots` points it
// at docs/images, where docs/monitoring.md shows them.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CLOUD_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".artifacts", "screenshots")
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 1000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %d bytes, not a PNG", name, len(png))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}
