package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the page's emulated time zone, in Go too

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/server/servertest"
	"github.com/cloudplatform/cloud/vocab"
)

// The CLI's formats, which the dashboard shows exactly (package human).
var (
	cliDuration = human.Duration
	cliChanges  = human.Changes
)

func cliSummary(s map[string]int) string {
	return human.Counts(s, vocab.StackResults)
}

const (
	cliDateTime = time.DateTime // human.DateTime
	cliClock    = time.TimeOnly // human.Clock
)

// startOperation starts kind (deploy, destroy) of DWEBRUN's dev over REST
// and returns the operation's ID.
func startOperation(t *testing.T, url, kind string) string {
	t.Helper()
	res, err := http.Post(url+"/api/v1/deployments/DWEBRUN/environments/dev/"+kind, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var op struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&op); err != nil || res.StatusCode != http.StatusAccepted || op.ID == "" {
		t.Fatalf("POST %s: %d %v %+v", kind, res.StatusCode, err, op)
	}
	return op.ID
}

// runningView is what the page shows of DWEBRUN mid-operation.
type runningView struct {
	Over   bool              `json:"over"`
	Graph  map[string]string `json:"graph"`
	Table  map[string]string `json:"table"`
	Reason map[string]string `json:"reason"`
	RC     map[string]string `json:"rc"`
	Outs   []string          `json:"outs"`
}

// readRunning reads the graph, the stacks table and the outputs, and
// whether the operation id has ended (its final operation.status event
// reached the page).
func readRunning(id string) string {
	return `(() => {
  const q = (s) => [...document.querySelectorAll(s)];
  const v = {graph: {}, table: {}, reason: {}, rc: {}};
  for (const g of q('#stackgraph g.node')) v.graph[g.dataset.stack] = g.dataset.status;
  for (const tr of q('#stacks tbody tr')) {
    const b = tr.querySelector('.st .badge');
    v.table[tr.dataset.stack] = b ? b.dataset.status : '';
    v.reason[tr.dataset.stack] = tr.querySelector('.reason').textContent;
    v.rc[tr.dataset.stack] = tr.querySelector('.rc').textContent;
  }
  v.outs = q('#outputs-table tbody tr').map((tr) => tr.dataset.output);
  v.over = ` + opOver(id) + `;
  return v;
})()`
}

// opOver is a JS expression: the operation's final operation.status event
// reached the page.
func opOver(id string) string {
	return fmt.Sprintf(`window.__dashboard.events.some((e) => e.operationId === %q && e.kind === 'operation.status' &&
  !['running', 'queued'].includes((e.payload || {}).status))`, id)
}

// A real deploy of four probe stacks followed by the page, checked while
// it runs and after: stacks not started yet are pending (not the previous
// operation's state); a finished stack's resources and outputs, and a
// failed stack's reason, show at once; a stack's latest events open at the
// newest and follow new ones; times, durations, summaries and changes are
// written as the CLI writes them, in the browser's time zone.
func TestDashboardFollowsTheRunningOperation(t *testing.T) {
	const zone = "Asia/Kathmandu" // +05:45: neither UTC nor a whole hour off
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		t.Fatalf("emulate the time zone %s: %v", zone, err)
	}
	home := t.TempDir()
	manifest, err := filepath.Abs(filepath.Join("testdata", "running.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	servertest.MustCloud(t, home, "init", "--from-file", manifest)
	s := servertest.Start(t, home)

	do(t, ctx, "open the deployment", chromedp.Navigate(s.URL+"/#/d/DWEBRUN?env=dev"))
	waitFor(t, ctx, "the graph, live", `document.querySelectorAll('#stackgraph g.node').length === 4 &&
	  !!window.__dashboard.ws && window.__dashboard.ws.readyState === 1 && document.querySelector('#conn').textContent === 'live'`, time.Minute)
	_, offset := time.Now().In(loc).Zone()
	if got := eval[int](t, ctx, `new Date().getTimezoneOffset()`); got != -offset/60 {
		t.Fatalf("the page's time zone is %d minutes behind UTC, want %d (%s)", got, -offset/60, zone)
	}

	// A destroy of nothing deployed: an operation of milliseconds.
	destroyID := startOperation(t, s.URL, "destroy")
	waitFor(t, ctx, "the destroy in the history", fmt.Sprintf(`(() => { const h = document.querySelector('#history-table tbody tr');
	  return !!h && h.dataset.op === %q && h.dataset.status !== 'running' && h.dataset.status !== 'queued'; })()`, destroyID), time.Minute)

	deployID := startOperation(t, s.URL, "deploy")
	over := opOver(deployID)
	waitFor(t, ctx, "first deployed, the deploy in the history", fmt.Sprintf(`(() => {
	  const g = document.querySelector('#stackgraph g.node[data-stack="first"]');
	  const h = document.querySelector('#history-table tbody tr');
	  return (g.dataset.status === 'deployed' && !!h && h.dataset.op === %q) || %s; })()`, deployID, over), 2*time.Minute)

	// 1. Mid-deploy, after the page re-read the environment: last has not
	// started (it waits for slow), so it is pending, as its events say.
	mid := eval[runningView](t, ctx, readRunning(deployID))
	if mid.Over {
		t.Fatalf("the deploy ended before the page was read mid-deploy (slow is not slow enough): %+v", mid)
	}
	if mid.Graph["last"] != "pending" || mid.Table["last"] != "pending" {
		t.Errorf("mid-deploy, last shows %q in the graph and %q in the table, want pending (its stack.status event)", mid.Graph["last"], mid.Table["last"])
	}

	// 2. first's resources and outputs show once it is deployed, while
	// the deploy still runs.
	var env struct {
		Deployment struct {
			Environment struct {
				Stacks []struct {
					Name, Status, Reason string
					ResourceCount        int
				}
				Outputs []struct{ Stack, Name string }
			}
		}
	}
	graphql(t, s.URL, `query { deployment(id: "DWEBRUN") { environment(name: "dev") { stacks { name status reason resourceCount } outputs(stack: "first") { stack name } } } }`, nil, &env)
	wantRC, wantBadReason := -1, ""
	for _, st := range env.Deployment.Environment.Stacks {
		switch st.Name {
		case "first":
			wantRC = st.ResourceCount
		}
	}
	wantOuts := len(env.Deployment.Environment.Outputs)
	if wantRC <= 0 || wantOuts == 0 {
		t.Fatalf("the store has first with %d resources and %d outputs", wantRC, wantOuts)
	}
	waitFor(t, ctx, "first's resources and outputs, or the deploy's end", fmt.Sprintf(`(() => {
	  const rc = document.querySelector('#stacks tr[data-stack="first"] .rc').textContent;
	  const outs = [...document.querySelectorAll('#outputs-table tbody tr')].filter((tr) => tr.dataset.output.startsWith('first.')).length;
	  return (rc === %q && outs === %d) || %s; })()`, fmt.Sprint(wantRC), wantOuts, over), 2*time.Minute)
	if v := eval[runningView](t, ctx, readRunning(deployID)); v.Over {
		t.Errorf("first's resources (%q, want %d) and outputs (%v) showed only at the deploy's end", v.RC["first"], wantRC, v.Outs)
	}

	// 7. bad's failure reason, in the Reason column, while the deploy runs.
	waitFor(t, ctx, "bad failed", `document.querySelector('#stackgraph g.node[data-stack="bad"]').dataset.status === 'failed' || `+over, 2*time.Minute)
	graphql(t, s.URL, `query { deployment(id: "DWEBRUN") { environment(name: "dev") { stacks { name status reason resourceCount } outputs(stack: "first") { stack name } } } }`, nil, &env)
	for _, st := range env.Deployment.Environment.Stacks {
		if st.Name == "bad" {
			wantBadReason = st.Reason
		}
	}
	if !strings.Contains(wantBadReason, "bad is broken on purpose") || strings.Contains(wantBadReason, "second line") {
		t.Fatalf("the store's reason of bad is %q, want the first line of its error", wantBadReason)
	}
	waitFor(t, ctx, "bad's reason, or the deploy's end", fmt.Sprintf(`document.querySelector('#stacks tr[data-stack="bad"] .reason').textContent === %q || %s`, wantBadReason, over), 2*time.Minute)
	if v := eval[runningView](t, ctx, readRunning(deployID)); v.Over {
		t.Errorf("bad's reason showed %q while the deploy ran, want %q", v.Reason["bad"], wantBadReason)
	}

	// 3. last's latest events, opened while it is pending, follow its
	// events as they arrive (the list scrolls and stays at the newest).
	do(t, ctx, "open last's details", chromedp.Click(chromedp.CSS(`#stacks a[data-goto="last"]`)))
	waitFor(t, ctx, "the details of last", `(() => { const d = document.querySelector('#stack-details');
	  return !!d && !d.hidden && d.dataset.stack === 'last'; })()`, 30*time.Second)
	const followed = `(() => {
	  const l = document.querySelector('#stack-events');
	  const evs = window.__dashboard.events.filter((e) => e.stack === 'last');
	  const lis = l ? l.querySelectorAll('li') : [];
	  return !!l && evs.length > 0 && lis.length > 0 && +lis[lis.length - 1].dataset.seq === evs[evs.length - 1].globalSeq &&
	    l.scrollHeight > l.clientHeight + 20 && l.scrollTop + l.clientHeight >= l.scrollHeight - 8;
	})()`
	waitFor(t, ctx, "last's events followed while it deploys, or the deploy's end", `(() => {
	  const ok = document.querySelector('#stackgraph g.node[data-stack="last"]').dataset.status === 'deploying' && `+followed+`;
	  if (ok) window.__followed = true;
	  return ok || `+over+`; })()`, 2*time.Minute)
	if !eval[bool](t, ctx, `!!window.__followed`) {
		t.Errorf("last's latest events did not follow its events while it deployed (the newest shown and scrolled to)")
	}

	// The end: the history has the deploy, failed (bad), and the page
	// re-read the environment.
	waitFor(t, ctx, "the deploy's end", fmt.Sprintf(`(() => { const h = document.querySelector('#history-table tbody tr');
	  return %s && !!h && h.dataset.op === %q && h.dataset.status === 'failed' &&
	    document.querySelector('#stackgraph g.node[data-stack="last"]').dataset.status === 'deployed'; })()`, over, deployID), 3*time.Minute)
	waitFor(t, ctx, "last's events up to its newest", `(() => {
	  const l = document.querySelector('#stack-events');
	  const evs = window.__dashboard.events.filter((e) => e.stack === 'last');
	  const lis = l ? l.querySelectorAll('li') : [];
	  return lis.length > 0 && +lis[lis.length - 1].dataset.seq === evs[evs.length - 1].globalSeq; })()`, 30*time.Second)
	if !eval[bool](t, ctx, followed) {
		t.Errorf("after the deploy, last's latest events are not scrolled to the newest: %s", eval[string](t, ctx,
			`(() => { const l = document.querySelector('#stack-events'); return l ? l.scrollTop + '+' + l.clientHeight + ' of ' + l.scrollHeight : 'no list'; })()`))
	}
	// Opened again, they open at the newest.
	do(t, ctx, "close the details", chromedp.KeyEvent(kb.Escape))
	waitFor(t, ctx, "the details closed", `document.querySelector('#stack-details').hidden`, 10*time.Second)
	do(t, ctx, "open last's details again", chromedp.Click(chromedp.CSS(`#stacks a[data-goto="last"]`)))
	waitFor(t, ctx, "the details of last again", `(() => { const d = document.querySelector('#stack-details');
	  return !!d && !d.hidden && d.dataset.stack === 'last' && !!document.querySelector('#stack-events'); })()`, 30*time.Second)
	if !eval[bool](t, ctx, followed) {
		t.Errorf("last's latest events do not open at the newest: %s", eval[string](t, ctx,
			`(() => { const l = document.querySelector('#stack-events'); return l.scrollTop + '+' + l.clientHeight + ' of ' + l.scrollHeight; })()`))
	}

	// What the store says of the two operations and their events.
	type opStack struct {
		Stack, Status, Reason, Error string
		StartedAt                    *time.Time
		Changes                      map[string]int
	}
	var ops struct {
		Deployment struct {
			Operations struct {
				Nodes []struct {
					ID, Kind, Status string
					StartedAt        time.Time
					FinishedAt       *time.Time
					Summary          map[string]int
					Stacks           []opStack
				}
			}
		}
		DeploymentEvents struct {
			Nodes []struct {
				GlobalSeq   int
				Stack, Kind string
				Payload     map[string]any
			}
		}
	}
	graphql(t, s.URL, `query {
	  deployment(id: "DWEBRUN") { operations(environment: "dev") { nodes { id kind status startedAt finishedAt summary
	    stacks { stack status reason error startedAt changes } } } }
	  deploymentEvents(deploymentId: "DWEBRUN", environment: "dev", first: 500) { nodes { globalSeq stack kind payload } }
	}`, nil, &ops)
	nodes := ops.Deployment.Operations.Nodes
	if len(nodes) != 2 || nodes[0].ID != deployID || nodes[1].ID != destroyID {
		t.Fatalf("operations: %+v", nodes)
	}
	var firstRun, badRun opStack
	for _, st := range nodes[0].Stacks {
		switch st.Stack {
		case "first":
			firstRun = st
		case "bad":
			badRun = st
		}
	}
	if gist, _, _ := strings.Cut(strings.TrimSpace(badRun.Error), "\n"); gist != wantBadReason {
		t.Errorf("bad's reason %q is not the first line of its error %q", wantBadReason, badRun.Error)
	}

	// 4, 5, 6. The history: start (local date and time), duration and
	// summary as `cloud history` writes them.
	type historyRow struct{ Op, Started, Duration, Summary string }
	rows := eval[[]historyRow](t, ctx, `[...document.querySelectorAll('#history-table tbody tr')].map((tr) => ({
	  op: tr.dataset.op, started: tr.querySelector('time').textContent,
	  duration: tr.querySelector('.duration').textContent, summary: (tr.querySelector('.summary') || {textContent: ''}).textContent }))`)
	if len(rows) != 2 {
		t.Fatalf("history rows: %+v", rows)
	}
	for i, op := range nodes {
		want := historyRow{Op: op.ID, Started: op.StartedAt.In(loc).Format(cliDateTime),
			Duration: cliDuration(op.FinishedAt.Sub(op.StartedAt)), Summary: cliSummary(op.Summary)}
		if rows[i] != want {
			t.Errorf("history row %d:\n got %+v\nwant %+v", i, rows[i], want)
		}
	}
	if !strings.HasSuffix(rows[1].Duration, "ms") || rows[0].Summary != "deployed:3 failed:1" {
		t.Errorf("history: the destroy took %q (want milliseconds), the deploy's summary is %q", rows[1].Duration, rows[0].Summary)
	}
	t.Logf("history: %+v", rows)

	// 4, 6. The event log: local times of day; changes as +N.
	type logLine struct {
		Seq            int
		DateTime, Time string
		Text           string
	}
	lines := eval[[]logLine](t, ctx, `[...document.querySelectorAll('#log li')].map((li) => ({
	  seq: +li.dataset.seq, dateTime: li.querySelector('time').getAttribute('datetime'), time: li.querySelector('time').textContent, text: li.textContent }))`)
	bySeq := map[int]logLine{}
	wrong := 0
	for _, l := range lines {
		bySeq[l.Seq] = l
		at, err := time.Parse(time.RFC3339Nano, l.DateTime)
		if err != nil || l.Time != at.In(loc).Format(cliClock) {
			if wrong++; wrong == 1 {
				t.Errorf("log line %d: time %q for %s, want %q", l.Seq, l.Time, l.DateTime, at.In(loc).Format(cliClock))
			}
		}
	}
	if wrong > 1 || len(lines) < 20 {
		t.Errorf("%d of the log's %d lines have a wrong time", wrong, len(lines))
	}
	summaries, steps := 0, 0
	for _, e := range ops.DeploymentEvents.Nodes {
		// A resource step reads as the CLI's log line: op, type, name.
		if typ, _ := e.Payload["type"].(string); e.Kind == "engine" && strings.HasPrefix(typ, "resource.") {
			if l, ok := bySeq[e.GlobalSeq]; ok {
				steps++
				want := fmt.Sprintf("%v %v %v", e.Payload["op"], e.Payload["resource"], e.Payload["name"])
				if !strings.Contains(l.Text, want) {
					t.Errorf("log line %d of %s's %s: %q, want it to say %q", e.GlobalSeq, e.Stack, typ, l.Text, want)
				}
			}
		}
		if e.Kind != "engine" || e.Payload["type"] != "summary" {
			continue
		}
		summaries++
		c := map[string]int{}
		if m, ok := e.Payload["changes"].(map[string]any); ok {
			for k, v := range m {
				if f, ok := v.(float64); ok {
					c[k] = int(f)
				}
			}
		}
		if l := bySeq[e.GlobalSeq]; !strings.HasSuffix(l.Text, " summary "+cliChanges(c)) || strings.Contains(l.Text, "{") {
			t.Errorf("log line %d of %s's engine summary %v: %q, want it to end in %q", e.GlobalSeq, e.Stack, e.Payload, l.Text, "summary "+cliChanges(c))
		}
	}
	if summaries == 0 || steps == 0 {
		t.Errorf("%d engine summaries and %d resource steps in the log, want both", summaries, steps)
	}

	// 4, 6. first's details: its last run's local start and its changes.
	do(t, ctx, "open first's details", chromedp.Click(chromedp.CSS(`#stacks a[data-goto="first"]`)))
	waitFor(t, ctx, "the details of first", `(() => { const d = document.querySelector('#stack-details');
	  return !!d && !d.hidden && d.dataset.stack === 'first'; })()`, 30*time.Second)
	type factsView struct{ Facts map[string]string }
	facts := eval[factsView](t, ctx, `(() => { const f = {};
	  for (const dt of document.querySelectorAll('#stack-details dl.facts dt')) f[dt.textContent] = dt.nextElementSibling.textContent;
	  return {facts: f}; })()`).Facts
	if want := firstRun.StartedAt.In(loc).Format(cliDateTime); !strings.Contains(facts["Last run"], want) {
		t.Errorf("first's last run: %q, want the start %q", facts["Last run"], want)
	}
	if want := cliChanges(firstRun.Changes); facts["Changes"] != want || want == "-" {
		t.Errorf("first's changes: %q, want %q", facts["Changes"], want)
	}

	// 3. Scrolled up in last's latest events, a reader stays where they
	// are while a destroy's events arrive.
	do(t, ctx, "open last's details once more", chromedp.Click(chromedp.CSS(`#stacks a[data-goto="last"]`)))
	waitFor(t, ctx, "the details of last, scrolled up", `(() => { const d = document.querySelector('#stack-details');
	  const l = document.querySelector('#stack-events');
	  if (!d || d.hidden || d.dataset.stack !== 'last' || !l) return false;
	  l.scrollTop = 0;
	  return l.scrollTop === 0; })()`, 30*time.Second)
	destroy2 := startOperation(t, s.URL, "destroy")
	waitFor(t, ctx, "the destroy's events of last in its latest events", fmt.Sprintf(`(() => {
	  const evs = window.__dashboard.events.filter((e) => e.stack === 'last');
	  const lis = document.querySelectorAll('#stack-events li');
	  return evs.length > 0 && evs[evs.length - 1].operationId === %q && lis.length > 0 &&
	    +lis[lis.length - 1].dataset.seq === evs[evs.length - 1].globalSeq; })()`, destroy2), 2*time.Minute)
	if top := eval[float64](t, ctx, `document.querySelector('#stack-events').scrollTop`); top > 4 {
		t.Errorf("scrolled up in last's latest events, the list moved to %v as events arrived", top)
	}
	waitFor(t, ctx, "the destroy's end", opOver(destroy2), 3*time.Minute)
}

// The dashboard's formats, in the browser, against the CLI's rules: every
// case of a duration (none, milliseconds, tenths of seconds with Go's
// rounding, minutes and hours), local dates and times on both sides of a
// daylight-saving change, summaries and changes.
func TestDashboardFormatsAsTheCLI(t *testing.T) {
	const zone = "Europe/Berlin"
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		t.Fatalf("emulate the time zone %s: %v", zone, err)
	}
	s := servertest.Start(t, t.TempDir())
	do(t, ctx, "open the dashboard", chromedp.Navigate(s.URL+"/"))
	waitFor(t, ctx, "the page's formats", `!!(window.__dashboard && window.__dashboard.formats)`, 30*time.Second)
	call := func(js string) string {
		t.Helper()
		return eval[string](t, ctx, `String(window.__dashboard.formats.`+js+`)`)
	}

	for _, d := range []time.Duration{0, -time.Second, 1, 7 * time.Millisecond, 7*time.Millisecond + 999999, 850 * time.Millisecond,
		time.Second - 1, time.Second, 12250 * time.Millisecond, 12750 * time.Millisecond, 12340 * time.Millisecond,
		59960 * time.Millisecond, time.Minute, 245 * time.Second, 245500 * time.Millisecond, time.Hour,
		time.Hour + 2*time.Minute + 5*time.Second, 25*time.Hour + 61*time.Second} {
		if got, want := call(fmt.Sprintf("duration(%d)", d.Nanoseconds())), cliDuration(d); got != want {
			t.Errorf("duration %d ns: %q, want %q", d.Nanoseconds(), got, want)
		}
	}
	for _, p := range [][2]string{
		{"2026-12-02T01:42:44.123456789Z", "2026-12-02T01:42:44.130456788Z"},
		{"2026-12-02T01:42:44Z", "2026-12-02T01:46:49.5Z"},
		{"2026-12-02T01:42:44.9Z", "2026-12-02T01:42:57.15Z"},
	} {
		a, _ := time.Parse(time.RFC3339Nano, p[0])
		b, _ := time.Parse(time.RFC3339Nano, p[1])
		if got, want := call(fmt.Sprintf("duration(window.__dashboard.formats.nanosBetween(%q, %q))", p[0], p[1])), cliDuration(b.Sub(a)); got != want {
			t.Errorf("duration from %s to %s: %q, want %q", p[0], p[1], got, want)
		}
	}
	for _, ts := range []string{"2026-01-15T23:30:05.999999999Z", "2026-07-15T22:00:00Z", "2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"} {
		at, _ := time.Parse(time.RFC3339Nano, ts)
		if got, want := call(fmt.Sprintf("dateTime(%q)", ts)), at.In(loc).Format(cliDateTime); got != want {
			t.Errorf("date and time of %s: %q, want %q", ts, got, want)
		}
		if got, want := call(fmt.Sprintf("clock(%q)", ts)), at.In(loc).Format(cliClock); got != want {
			t.Errorf("time of day of %s: %q, want %q", ts, got, want)
		}
	}
	for _, c := range []map[string]int{nil, {}, {"deployed": 3, "failed": 1}, {"interrupted": 1, "skipped": 2, "unchanged": 0, "destroyed": 4, "previewed": 1, "cancelled": 1}} {
		b, _ := json.Marshal(c)
		if got, want := call("summary("+string(b)+")"), cliSummary(c); got != want {
			t.Errorf("summary %s: %q, want %q", b, got, want)
		}
	}
	for _, c := range []map[string]int{nil, {"same": 0}, {"create": 2, "update": 1, "delete": 0}, {"delete": 3, "replace": 1, "same": 5, "create": 1}} {
		b, _ := json.Marshal(c)
		if got, want := call("changes("+string(b)+")"), cliChanges(c); got != want {
			t.Errorf("changes %s: %q, want %q", b, got, want)
		}
	}
}
