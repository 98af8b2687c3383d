package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestOutputContract holds the one output contract: -o json of status,
// list, history, outputs, logs and an operation's report prints the REST
// document of the same resource, byte for byte the same locally and
// through --server; -o yaml is the same document.
func TestOutputContract(t *testing.T) {
	home := t.TempDir()
	initProbe(t, home, "DCONTR1", 0, false)
	deploy := mustCloud(t, home, "deploy", "DCONTR1", "-e", "dev", "-o", "json", "-q")
	srv := startServe(t, home)
	client := t.TempDir() // the --server side keeps no store of its own
	var op struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(deploy.stdout), &op); err != nil || op.ID == "" {
		t.Fatalf("deploy -o json is not an operation document: %v\n%s", err, deploy.stdout)
	}
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/v1" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	post := func(path string) []byte {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/v1"+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	// The REST document of the one-environment status is the deployment
	// with only that environment.
	narrowed := func(b []byte) []byte {
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, e := range d["environments"].([]any) {
			if e.(map[string]any)["name"] == "dev" {
				d["environments"] = []any{e}
			}
		}
		out, _ := json.Marshal(d)
		return out
	}
	// logs -o json is JSON Lines: the items of the event list.
	lines := func(b []byte) []byte {
		var p struct{ Items []json.RawMessage }
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		for _, it := range p.Items {
			out.Write(it)
			out.WriteByte('\n')
		}
		return out.Bytes()
	}
	for _, c := range []struct {
		args []string
		rest []byte
		// jsonLines: one document per line rather than one document.
		jsonLines bool
	}{
		{args: []string{"status", "DCONTR1", "-a"}, rest: get("/deployments/DCONTR1")},
		{args: []string{"status", "DCONTR1", "-e", "dev"}, rest: narrowed(get("/deployments/DCONTR1"))},
		{args: []string{"list"}, rest: get("/deployments?first=500")},
		{args: []string{"history", "DCONTR1"}, rest: get("/deployments/DCONTR1/operations?first=20")},
		{args: []string{"history", "DCONTR1", "-e", "dev", "-n", "1"}, rest: get("/deployments/DCONTR1/operations?first=1&environment=dev")},
		{args: []string{"outputs", "DCONTR1", "-e", "dev"}, rest: get("/deployments/DCONTR1/environments/dev/outputs")},
		{args: []string{"outputs", "DCONTR1", "-e", "dev", "--show-secrets"}, rest: get("/deployments/DCONTR1/environments/dev/outputs?showSecrets=true")},
		{args: []string{"rollback", "DCONTR1", "-e", "dev", "--list"}, rest: get("/deployments/DCONTR1/environments/dev/rollback-candidates")},
		{args: []string{"logs", "DCONTR1", "--operation", op.ID}, rest: lines(get("/operations/" + op.ID + "/events")), jsonLines: true},
	} {
		name := strings.Join(c.args, " ")
		local := mustCloud(t, home, append(c.args, "-o", "json")...).stdout
		remote := mustCloud(t, client, append([]string{"--server", srv.URL}, append(c.args, "-o", "json")...)...).stdout
		if local != remote {
			t.Errorf("%s: -o json differs locally and with --server:\nlocal:  %s\nremote: %s", name, local, remote)
		}
		if !c.jsonLines {
			if !sameJSON(t, []byte(local), c.rest) {
				t.Errorf("%s: -o json is not the REST document:\ncli:  %s\nrest: %s", name, local, c.rest)
			}
			y := mustCloud(t, home, append(c.args, "-o", "yaml")...).stdout
			var fromYAML, fromJSON any
			if err := yaml.Unmarshal([]byte(y), &fromYAML); err != nil {
				t.Fatalf("%s -o yaml: %v", name, err)
			}
			json.Unmarshal([]byte(local), &fromJSON)
			if !reflect.DeepEqual(normal(t, fromYAML), fromJSON) {
				t.Errorf("%s: -o yaml is not the JSON document:\n%s", name, y)
			}
			continue
		}
		if local != string(c.rest) {
			t.Errorf("%s: JSON lines are not the REST event documents:\ncli:  %s\nrest: %s", name, local, c.rest)
		}
	}
	// The commands that run only on the local store print the documents
	// REST serves of the same things.
	for _, c := range []struct {
		args []string
		// rest reads the REST document after the command ran: validating
		// registers the programs a template uses.
		rest func() []byte
	}{
		{[]string{"list-environments", "DCONTR1"}, func() []byte { return get("/deployments/DCONTR1/environments") }},
		{[]string{"graph", "DCONTR1", "-e", "dev"}, func() []byte { return get("/deployments/DCONTR1/environments/dev/plan") }},
		{[]string{"validate", "dependencies", "DCONTR1"}, func() []byte { return get("/deployments/DCONTR1/dependencies") }},
		{[]string{"list-stacks"}, func() []byte { return get("/stacks") }},
		{[]string{"list-templates"}, func() []byte { return get("/templates") }},
		{[]string{"show-template", "demo"}, func() []byte { return get("/templates/demo") }},
		{[]string{"version"}, func() []byte { return get("/version") }},
		{[]string{"lock", "DCONTR1", "-e", "dev", "--status"}, func() []byte { return get("/deployments/DCONTR1/environments/dev/lock") }},
		{[]string{"lock", "status", "DCONTR1", "-e", "dev"}, func() []byte {
			var l map[string]any
			json.Unmarshal(get("/deployments/DCONTR1/environments/dev/lock"), &l)
			var team any
			json.Unmarshal(get("/deployments/DCONTR1/environments/dev/team-lock"), &team)
			l["team"] = team
			b, _ := json.Marshal(l)
			return b
		}},
		{[]string{"validate", "deployment", "DCONTR1", "-e", "dev"}, func() []byte { return post("/deployments/DCONTR1/validate?environment=dev") }},
		{[]string{"validate-template", "demo"}, func() []byte { return post("/templates/demo/validate") }},
		{[]string{"config", "DCONTR1"}, func() []byte { return get("/deployments/DCONTR1/manifest") }},
		{[]string{"config", "DCONTR1", "--revision", "1"}, func() []byte { return get("/deployments/DCONTR1/manifest?revision=1") }},
	} {
		name := strings.Join(c.args, " ")
		if local := mustCloud(t, home, append(c.args, "-o", "json")...).stdout; !sameJSON(t, []byte(local), c.rest()) {
			t.Errorf("%s: -o json is not the REST document:\ncli:  %s\nrest: %s", name, local, c.rest())
		}
	}
	// A change of the manifest prints what REST answers one: the
	// deployment as it now is, the revision in force, changed.
	change := func(rev int) []byte {
		var dep any
		json.Unmarshal(get("/deployments/DCONTR1"), &dep)
		b, _ := json.Marshal(map[string]any{"deployment": dep, "revision": rev, "changed": true})
		return b
	}
	for i, args := range [][]string{
		{"config", "set", "DCONTR1", "stacks.top.config.greeting", "hello"},
		{"config", "unset", "DCONTR1", "stacks.top.config.greeting"},
	} {
		if local := mustCloud(t, home, append(args, "-o", "json")...).stdout; !sameJSON(t, []byte(local), change(2+i)) {
			t.Errorf("%s: -o json is not the change's document:\ncli:  %s\nrest: %s", strings.Join(args, " "), local, change(2+i))
		}
	}
	// What the registry and the templates answer a change with: the
	// stack's and the template's documents.
	for _, c := range []struct {
		args []string
		path string
	}{
		{[]string{"register-stack", "probe", "--dependencies", "base"}, "/stacks/probe"},
		{[]string{"update-stack", "probe", "--description", "the probe"}, "/stacks/probe"},
		{[]string{"create-template", "probes", "--from-deployment", "DCONTR1", "--description", "probes"}, "/templates/probes"},
	} {
		name := strings.Join(c.args, " ")
		if local := mustCloud(t, home, append(c.args, "-o", "json")...).stdout; !sameJSON(t, []byte(local), get(c.path)) {
			t.Errorf("%s: -o json is not GET %s:\ncli:  %s\nrest: %s", name, c.path, local, get(c.path))
		}
	}
	// A new deployment is printed as its document.
	created := mustCloud(t, home, "init", "--id", "DCONTR2", "--org", "acme", "--project", "other", "-o", "json").stdout
	if rest := get("/deployments/DCONTR2"); !sameJSON(t, []byte(created), rest) {
		t.Errorf("init -o json is not GET /deployments/DCONTR2:\ncli:  %s\nrest: %s", created, rest)
	}
	// The report of an operation is the operation's document.
	if rest := get("/operations/" + op.ID); !sameJSON(t, []byte(deploy.stdout), rest) {
		t.Errorf("deploy -o json is not GET /operations/%s:\ncli:  %s\nrest: %s", op.ID, deploy.stdout, rest)
	}
	remoteDeploy := mustCloud(t, client, "--server", srv.URL, "deploy", "DCONTR1", "-e", "dev", "-o", "json", "-q").stdout
	var rop struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(remoteDeploy), &rop); err != nil || rop.ID == "" {
		t.Fatalf("deploy --server -o json: %v\n%s", err, remoteDeploy)
	}
	if rest := get("/operations/" + rop.ID); !sameJSON(t, []byte(remoteDeploy), rest) {
		t.Errorf("deploy --server -o json is not GET /operations/%s:\ncli:  %s\nrest: %s", rop.ID, remoteDeploy, rest)
	}
	// No process IDs, hosts' paths or raw flag maps in any document.
	for _, forbidden := range []string{`"PID"`, `"pid"`, `"Flags"`, `"LastSeq"`, `"stacks-dir"`, `"home"`} {
		if strings.Contains(deploy.stdout, forbidden) {
			t.Errorf("the operation document holds %s:\n%s", forbidden, deploy.stdout)
		}
	}
}

// sameJSON reports whether two JSON texts are the same document.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// normal is a YAML-decoded value as JSON would decode it (numbers as
// float64, times as strings).
func normal(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}
