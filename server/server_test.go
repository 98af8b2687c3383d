package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/server/gqlws"
	"github.com/cloudplatform/cloud/server/servertest"
)

// event is the part of an event the tests compare.
type event struct {
	OperationID string          `json:"operationId"`
	Seq         int             `json:"seq"`
	GlobalSeq   int             `json:"globalSeq"`
	Stack       string          `json:"stack"`
	Kind        string          `json:"kind"`
	Payload     json.RawMessage `json:"payload"`
}

const eventFields = `operationId seq globalSeq stack kind payload`

// gql runs a GraphQL query or mutation over HTTP and decodes data into out.
func gql(t *testing.T, base, query string, vars map[string]any, out any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Data   json.RawMessage      `json:"data"`
		Errors []gqlws.GraphQLError `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("decode GraphQL response: %v", err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("GraphQL errors: %v", res.Errors)
	}
	if out != nil {
		if err := json.Unmarshal(res.Data, out); err != nil {
			t.Fatalf("decode data %s: %v", res.Data, err)
		}
	}
}

// rest sends a JSON request and decodes the JSON answer into out; it fails
// the test unless the status is want.
func rest(t *testing.T, method, url string, in any, want int, out any) http.Header {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, body)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, b, err)
		}
	}
	return resp.Header
}

// storedEvents reads every stored event of an operation through the
// paginated GraphQL query.
func storedEvents(t *testing.T, base, opID string) []event {
	t.Helper()
	var all []event
	after := 0
	for {
		var data struct {
			Events struct {
				Nodes    []event `json:"nodes"`
				PageInfo struct {
					HasNextPage bool `json:"hasNextPage"`
				} `json:"pageInfo"`
			} `json:"events"`
		}
		gql(t, base, `query($op: ID!, $after: Int) { events(operationId: $op, afterSeq: $after, first: 100) {
			nodes { `+eventFields+` } pageInfo { hasNextPage } } }`, map[string]any{"op": opID, "after": after}, &data)
		all = append(all, data.Events.Nodes...)
		if !data.Events.PageInfo.HasNextPage {
			return all
		}
		after = all[len(all)-1].Seq
	}
}

// waitOperation polls an operation until it is no longer running.
func waitOperation(t *testing.T, base, opID string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		var data struct {
			Operation struct{ Status string } `json:"operation"`
		}
		gql(t, base, `query($id: ID!) { operation(id: $id) { status } }`, map[string]any{"id": opID}, &data)
		if s := data.Operation.Status; s != "running" && s != "queued" {
			return s
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("operation %s still running after 3 minutes", opID)
	return ""
}

func dial(t *testing.T, base string) *gqlws.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gqlws.Dial(ctx, strings.Replace(base, "http://", "ws://", 1)+"/graphql", gqlws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type message struct {
	Events   []event `json:"events"`
	Overflow *struct {
		ResumeAfter int `json:"resumeAfter"`
	} `json:"overflow"`
}

// next decodes one subscription result.
func next(t *testing.T, r gqlws.Result, field string) message {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("subscription error: %v", r.Errors)
	}
	var data map[string]message
	if err := json.Unmarshal(r.Data, &data); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
	return data[field]
}

func isFinal(e *event) bool {
	if e.Kind != "operation.status" {
		return false
	}
	var p struct{ Status string }
	json.Unmarshal(e.Payload, &p)
	return p.Status != "running" && p.Status != "queued"
}

func sameEvents(t *testing.T, what string, got, want []event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d events, the store recorded %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.OperationID != w.OperationID || g.Seq != w.Seq || g.GlobalSeq != w.GlobalSeq || g.Kind != w.Kind ||
			g.Stack != w.Stack || !bytes.Equal(compact(g.Payload), compact(w.Payload)) {
			t.Fatalf("%s: event %d is %+v, the store recorded %+v", what, i, g, w)
		}
	}
}

func compact(b json.RawMessage) []byte {
	var out bytes.Buffer
	if len(b) == 0 || json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

const deploymentEventsSub = `subscription($d: ID!, $env: String, $after: Int) {
	deploymentEvents(deploymentId: $d, environment: $env, afterSeq: $after) { events { ` + eventFields + ` } overflow { resumeAfter } } }`

const operationEventsSub = `subscription($op: ID!, $after: Int) {
	operationEvents(operationId: $op, afterSeq: $after) { events { ` + eventFields + ` } overflow { resumeAfter } } }`

// TestDeployThroughRESTFollowedBySubscription creates and deploys the demo
// deployment through REST against a real `cloud serve`, follows it with a
// GraphQL subscription, and checks the subscription delivered exactly the
// events the store recorded, in order. Then a subscriber that disconnects
// in the middle of a second deploy and resumes from its last sequence
// number ends with the complete sequence, no duplicate.
func TestDeployThroughRESTFollowedBySubscription(t *testing.T) {
	home := t.TempDir()
	srv := servertest.Start(t, home)
	api := srv.URL + "/api/v1"

	var dep struct{ ID string }
	rest(t, "POST", api+"/deployments", map[string]any{"id": "DSUB001", "organization": "acme", "project": "shop", "domain": "shop.example.com"}, http.StatusCreated, &dep)
	if dep.ID != "DSUB001" {
		t.Fatalf("created deployment %q", dep.ID)
	}

	// Subscribe before the deploy starts: every event of it is live.
	conn := dial(t, srv.URL)
	ctx := context.Background()
	sub, stop, err := conn.Subscribe(ctx, deploymentEventsSub, map[string]any{"d": dep.ID, "env": "dev", "after": 0})
	if err != nil {
		t.Fatal(err)
	}
	// And the status events of every deployment, from now on (what the
	// dashboard's list follows).
	kinds := []string{"operation.status", "stack.status"}
	all, stopAll, err := conn.Subscribe(ctx, `subscription($kinds: [String!]) { events(kinds: $kinds) { events { `+eventFields+` } } }`,
		map[string]any{"kinds": kinds})
	if err != nil {
		t.Fatal(err)
	}

	var op struct{ ID, Status string }
	h := rest(t, "POST", api+"/deployments/"+dep.ID+"/environments/dev/deploy", map[string]any{}, http.StatusAccepted, &op)
	if want := "/api/v1/operations/" + op.ID; h.Get("Location") != want {
		t.Errorf("Location %q, want %q", h.Get("Location"), want)
	}
	if op.Status != "running" {
		t.Errorf("202 body status %q, want running", op.Status)
	}
	var got []event
	timeout := time.After(3 * time.Minute)
	for done := false; !done; {
		select {
		case r, ok := <-sub:
			if !ok {
				t.Fatalf("subscription ended after %d events: %v", len(got), conn.Err())
			}
			m := next(t, r, "deploymentEvents")
			if len(m.Events) == 0 {
				t.Fatalf("unexpected message %+v", m)
			}
			for _, e := range m.Events {
				got = append(got, e)
				done = done || (e.OperationID == op.ID && isFinal(&e))
			}
		case <-timeout:
			t.Fatalf("deploy did not end within 3 minutes; %d events", len(got))
		}
	}
	stop()
	want := storedEvents(t, srv.URL, op.ID)
	sameEvents(t, "deploymentEvents", got, want)
	var wantStatus []event
	for _, e := range want {
		if slices.Contains(kinds, e.Kind) {
			wantStatus = append(wantStatus, e)
		}
	}
	var allGot []event
	for done := false; !done; {
		select {
		case r, ok := <-all:
			if !ok {
				t.Fatalf("events subscription ended after %d events: %v", len(allGot), conn.Err())
			}
			for _, e := range next(t, r, "events").Events {
				allGot = append(allGot, e)
				done = done || (e.OperationID == op.ID && isFinal(&e))
			}
		case <-time.After(time.Minute):
			t.Fatalf("the events subscription did not deliver the end of %s; %d events", op.ID, len(allGot))
		}
	}
	stopAll()
	sameEvents(t, "events (all deployments, status kinds)", allGot, wantStatus)
	if status := waitOperation(t, srv.URL, op.ID); status != "succeeded" {
		t.Fatalf("deploy %s", status)
	}
	for i := 1; i < len(got); i++ {
		if got[i].GlobalSeq <= got[i-1].GlobalSeq {
			t.Fatalf("globalSeq not increasing at %d: %d after %d", i, got[i].GlobalSeq, got[i-1].GlobalSeq)
		}
	}

	// A second deploy (forced, so every stack runs again); the subscriber
	// drops its connection after a few events and resumes.
	var op2 struct{ ID string }
	rest(t, "POST", api+"/deployments/"+dep.ID+"/environments/dev/deploy", map[string]any{"force": true}, http.StatusAccepted, &op2)
	first := dial(t, srv.URL)
	sub, _, err = first.Subscribe(ctx, operationEventsSub, map[string]any{"op": op2.ID, "after": 0})
	if err != nil {
		t.Fatal(err)
	}
	var resumed []event
	for len(resumed) < 5 {
		r, ok := <-sub
		if !ok {
			t.Fatalf("subscription ended after %d events: %v", len(resumed), first.Err())
		}
		resumed = append(resumed, next(t, r, "operationEvents").Events...)
	}
	first.Close()
	last := resumed[len(resumed)-1].Seq
	second := dial(t, srv.URL)
	sub, _, err = second.Subscribe(ctx, operationEventsSub, map[string]any{"op": op2.ID, "after": last})
	if err != nil {
		t.Fatal(err)
	}
	timeout = time.After(3 * time.Minute)
	for completed := false; !completed; {
		select {
		case r, ok := <-sub:
			if !ok {
				completed = true // operationEvents completes after the last event
				break
			}
			resumed = append(resumed, next(t, r, "operationEvents").Events...)
		case <-timeout:
			t.Fatalf("resumed subscription did not complete; %d events", len(resumed))
		}
	}
	if !isFinal(&resumed[len(resumed)-1]) {
		t.Fatalf("resumed subscription completed before the operation ended: last event %+v", resumed[len(resumed)-1])
	}
	sameEvents(t, "operationEvents resumed", resumed, storedEvents(t, srv.URL, op2.ID))
}

var hashed = regexp.MustCompile(`-[0-9a-f]{12}\b`)

// TestOneCodePath starts the same deploy of the demo deployment through
// the CLI, REST and GraphQL (three deployments in one home, the server
// running) and checks they recorded identical results: the stacks'
// statuses and change counts, the outputs, and the sequence of stack
// transitions.
func TestOneCodePath(t *testing.T) {
	home := t.TempDir()
	srv := servertest.Start(t, home)
	api := srv.URL + "/api/v1"
	for _, id := range []string{"DCLI001", "DREST01", "DGQL001"} {
		servertest.MustCloud(t, home, "init", "--id", id, "--org", "acme", "--project", "shop", "--domain", "shop.example.com")
	}

	servertest.MustCloud(t, home, "deploy", "DCLI001", "-e", "dev")
	var rop struct{ ID string }
	rest(t, "POST", api+"/deployments/DREST01/environments/dev/deploy", nil, http.StatusAccepted, &rop)
	var gop struct {
		Deploy struct{ ID string } `json:"deploy"`
	}
	gql(t, srv.URL, `mutation { deploy(input: {deploymentId: "DGQL001", environment: "dev"}) { id } }`, nil, &gop)
	for _, id := range []string{rop.ID, gop.Deploy.ID} {
		if s := waitOperation(t, srv.URL, id); s != "succeeded" {
			t.Fatalf("operation %s %s", id, s)
		}
	}

	record := func(id string) string {
		var data struct {
			Deployment struct {
				Operations struct {
					Nodes []struct {
						ID, Kind, Status string
						Stacks           []struct {
							Stack, Status, Reason string
							Changes               map[string]int
							ResourceCount         int
						}
					}
				}
				Environment struct {
					Outputs []struct {
						Stack, Name string
						Value       any
						Secret      bool
					}
				}
			}
		}
		gql(t, srv.URL, `query($id: ID!) { deployment(id: $id) {
			operations(environment: "dev") { nodes { id kind status stacks { stack status reason changes resourceCount } } }
			environment(name: "dev") { outputs { stack name value secret } } } }`, map[string]any{"id": id}, &data)
		ops := data.Deployment.Operations.Nodes
		if len(ops) != 1 {
			t.Fatalf("%s has %d operations, want 1", id, len(ops))
		}
		var transitions []string
		for _, e := range storedEvents(t, srv.URL, ops[0].ID) {
			if e.Kind == "stack.status" || e.Kind == "operation.status" {
				var p struct{ Status string }
				json.Unmarshal(e.Payload, &p)
				transitions = append(transitions, e.Stack+":"+p.Status)
			}
		}
		// Stacks run in parallel: compare each stack's own sequence.
		sort.SliceStable(transitions, func(i, j int) bool {
			return strings.SplitN(transitions[i], ":", 2)[0] < strings.SplitN(transitions[j], ":", 2)[0]
		})
		ops[0].ID = ""
		// Independent stacks start in either order.
		sort.Slice(ops[0].Stacks, func(i, j int) bool { return ops[0].Stacks[i].Stack < ops[0].Stacks[j].Stack })
		b, _ := json.MarshalIndent(map[string]any{"operation": ops[0], "outputs": data.Deployment.Environment.Outputs,
			"transitions": transitions}, "", "  ")
		// The demo stacks derive resource IDs (vpc-…, subnet-…) by hashing
		// names that contain the deployment ID: those differ by design.
		return hashed.ReplaceAllString(strings.ReplaceAll(string(b), id, "ID"), "-HASH")
	}
	cli, viaREST, viaGQL := record("DCLI001"), record("DREST01"), record("DGQL001")
	if cli != viaREST || cli != viaGQL {
		t.Fatalf("the three doors recorded different results:\nCLI:\n%s\nREST:\n%s\nGraphQL:\n%s", cli, viaREST, viaGQL)
	}
	if !strings.Contains(cli, `"deployed"`) {
		t.Fatalf("no deployed stack in %s", cli)
	}
}
