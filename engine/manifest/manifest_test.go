package manifest_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/placeholder"
)

var update = flag.Bool("update", false, "rewrite the .err golden files")

func parseFile(t *testing.T, path string) *manifest.Manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(path, data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return m
}

func TestParse_full(t *testing.T) {
	m := parseFile(t, "testdata/valid/full.yaml")
	tests := []struct {
		name      string
		got, want any
	}{
		{"Version", m.Version, "1.0"},
		{"DeploymentID", m.DeploymentID, "D1BRV40"},
		{"Organization", m.Organization, "Acme Corp"},
		{"Backend", m.Backend, "s3://acme-pulumi-state"},
		{"CreatedAt", m.CreatedAt, "2025-01-02T03:04:05Z"},
		{"Metadata", m.Metadata, map[string]any{"owner": "platform-team", "tags": []any{"web", "shop"}}},
		{"environment order", m.EnvironmentNames(), []string{"dev", "stage", "prod"}},
		{"stack order", m.StackNames(), []string{"network", "database-rds", "app", "monitoring"}},
		{"dev", *m.Environment("dev"), manifest.Environment{Name: "dev", Enabled: true, Region: "us-east-1", AccountID: "123456789012", Pos: manifest.Pos{Line: 14, Column: 3}}},
		{"stage disabled", m.Environment("stage").Enabled, false},
		{"prod enabled by default", m.Environment("prod").Enabled, true},
		{"missing environment", m.Environment("qa"), (*manifest.Environment)(nil)},
		{"missing stack", m.Stack("nope"), (*manifest.Stack)(nil)},
		{"program default", m.Stack("network").Program, "network"},
		{"program", m.Stack("database-rds").Program, "database"},
		{"layer", m.Stack("network").DeclaredLayer(), 1},
		{"layer not given", m.Stack("app").Layer, (*int)(nil)},
		{"numbers are float64", m.Stack("network").Config["azs"], 3.0},
		{"dependencies", m.Stack("app").Dependencies, []string{"network"}},
		{"stack pos", m.Stack("app").Pos, manifest.Pos{Line: 46, Column: 3}},
		{"monitoring disabled", m.Stack("monitoring").Enabled, false},
		{"monitoring config", m.Stack("monitoring").Config, map[string]any(nil)},
		{"app disabled in dev", m.Stack("app").EnabledIn("dev"), false},
		{"app enabled in prod", m.Stack("app").EnabledIn("prod"), true},
		{"disabled stack stays disabled", m.Stack("monitoring").EnabledIn("prod"), false},
		{"ProjectName", manifest.ProjectName(m), "D1BRV40-Acme_Corp-web_shop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := tt.got, tt.want; !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

func TestStack_ConfigFor(t *testing.T) {
	m := parseFile(t, "testdata/valid/full.yaml")
	tests := []struct {
		stack, env string
		want       map[string]any
	}{
		{"database-rds", "dev", map[string]any{"vpc": "${network.vpcId}", "subnets": "{{network.privateSubnets}}", "size": "db.t3.micro", "multi_az": false}},
		{"database-rds", "prod", map[string]any{"vpc": "${network.vpcId}", "subnets": "{{network.privateSubnets}}", "size": "db.r5.large", "multi_az": true}},
		{"app", "prod", map[string]any{"url": "https://${deployment.domain}/api", "db": "${stack.database-rds.endpoint}", "tags": map[string]any{"team": "app", "tier": "gold"}}},
		{"monitoring", "prod", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.stack+"/"+tt.env, func(t *testing.T) {
			s := m.Stack(tt.stack)
			got := s.ConfigFor(tt.env)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ConfigFor = %#v, want %#v", got, tt.want)
			}
			if tags, ok := got["tags"].(map[string]any); ok {
				tags["team"] = "changed"
				if got, want := s.Config["tags"].(map[string]any)["team"], "app"; got != want {
					t.Errorf("ConfigFor result shares maps with the manifest")
				}
			}
		})
	}
}

func TestParse_errors(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = manifest.Parse(file, data)
			if err == nil {
				t.Fatal("Parse succeeded, want errors")
			}
			var list manifest.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T, want ErrorList", err)
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644)
			}
			want, err2 := os.ReadFile(golden)
			if err2 != nil {
				t.Fatal(err2)
			}
			if got, want := err.Error()+"\n", string(want); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestParse_oneDocument(t *testing.T) {
	doc, err := os.ReadFile("testdata/valid/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(doc), "\n")
	ok := map[string]string{
		"leading ---":      "---\n" + string(doc),
		"end marker ...":   string(doc) + "...\n",
		"trailing comment": string(doc) + "# the end\n",
	}
	for name, data := range ok {
		t.Run(name, func(t *testing.T) {
			if _, err := manifest.Parse("m.yaml", []byte(data)); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
	refused := map[string]struct{ data, want string }{
		"second document": {string(doc) + "---\nstacks: {x: {}}\n",
			fmt.Sprintf("m.yaml:%d:1: a second YAML document starts here", lines+1)},
		"empty second document": {string(doc) + "---\n",
			fmt.Sprintf("m.yaml:%d:1: a second YAML document starts here", lines+1)},
		"second document after an end marker": {string(doc) + "...\n---\nx: 1\n",
			fmt.Sprintf("m.yaml:%d:1: a second YAML document starts here", lines+2)},
		"bad syntax in the second document": {string(doc) + "---\nx: [\n",
			fmt.Sprintf("m.yaml:%d: YAML syntax: ", lines+2)},
	}
	for name, tt := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := manifest.Parse("m.yaml", []byte(tt.data))
			if err == nil {
				t.Fatal("Parse succeeded, want the second document refused")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

func TestError_Error(t *testing.T) {
	tests := []struct {
		err  *manifest.Error
		want string
	}{
		{&manifest.Error{File: "deployment-manifest.yaml", Line: 12, Column: 5, Field: "stacks.app.dependencies[1]", Msg: `unknown stack "netwrk"`, Hint: `did you mean "network"?`},
			`deployment-manifest.yaml:12:5: stacks.app.dependencies[1]: unknown stack "netwrk" (did you mean "network"?)`},
		{&manifest.Error{Msg: "empty manifest"}, "manifest: empty manifest"},
		{&manifest.Error{File: "m.yaml", Line: 3, Msg: "bad"}, "m.yaml:3: bad"},
	}
	for _, tt := range tests {
		if got, want := tt.err.Error(), tt.want; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
}

func TestValidate_placeholderErrorUnwraps(t *testing.T) {
	m := &manifest.Manifest{DeploymentID: "D1BRV40", Organization: "o", Project: "p",
		Stacks: []*manifest.Stack{{Name: "a", Program: "a", Enabled: true, Config: map[string]any{"x": "${"}}}}
	err := m.Validate()
	var se *placeholder.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Validate = %v, want a placeholder syntax error", err)
	}
	if got, want := err.Error(), `manifest: stacks.a.config.x: placeholder "${": unterminated (missing })`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		word       string
		candidates []string
		want       string
	}{
		{"netwrk", []string{"app", "network"}, `did you mean "network"?`},
		{"deploymentId", []string{"deployment_id", "domain"}, `did you mean "deployment_id"?`},
		{"zzzzzz", []string{"network"}, ""},
		{"x", []string{"y"}, ""},
		{"a", nil, ""},
	}
	for _, tt := range tests {
		if got, want := manifest.Suggest(tt.word, tt.candidates), tt.want; got != want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, want)
		}
	}
}

func TestNewDeploymentID(t *testing.T) {
	now := time.Unix(1700000000, 0) // base36 "s4we8"
	tests := []struct {
		random string
		want   string
	}{
		{"\x00\x01", "D4WE801"},
		{"\xff\x23\x24", "D4WE8Z0"}, // 0xff is rejected to avoid bias
	}
	for _, tt := range tests {
		got := manifest.NewDeploymentID(now, strings.NewReader(tt.random))
		if got != tt.want {
			t.Errorf("NewDeploymentID = %q, want %q", got, tt.want)
		}
		if !manifest.ValidDeploymentID(got) {
			t.Errorf("%q is not valid", got)
		}
	}
	if got := manifest.NewDeploymentID(time.Now(), nil); !manifest.ValidDeploymentID(got) {
		t.Errorf("random ID %q is not valid", got)
	}
	for _, s := range []string{"", "D12345", "D1234567", "d123456", "DABCDEf"} {
		if manifest.ValidDeploymentID(s) {
			t.Errorf("ValidDeploymentID(%q) = true", s)
		}
	}
}

// exported returns a copy of m holding only exported fields, positions
// cleared, so that manifests read from different text compare equal.
func exported(m *manifest.Manifest) *manifest.Manifest {
	c := &manifest.Manifest{Version: m.Version, DeploymentID: m.DeploymentID, Organization: m.Organization,
		Project: m.Project, Domain: m.Domain, PulumiOrg: m.PulumiOrg, Backend: m.Backend, Template: m.Template,
		CreatedAt: m.CreatedAt, Metadata: m.Metadata}
	for _, e := range m.Environments {
		e := *e
		e.Pos = manifest.Pos{}
		c.Environments = append(c.Environments, &e)
	}
	for _, s := range m.Stacks {
		s := *s
		s.Pos = manifest.Pos{}
		c.Stacks = append(c.Stacks, &s)
	}
	return c
}

func roundTrip(t *testing.T, m *manifest.Manifest) {
	t.Helper()
	out, err := manifest.Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	m2, err := manifest.Parse("marshalled", out)
	if err != nil {
		t.Fatalf("Parse(Marshal): %v\n%s", err, out)
	}
	if got, want := exported(m2), exported(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the manifest\n%s", out)
	}
	out2, err := manifest.Marshal(m2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, out2) {
		t.Fatalf("Marshal is not canonical:\n%s\n---\n%s", out, out2)
	}
}

func TestMarshal_roundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { roundTrip(t, parseFile(t, file)) })
	}
}

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := manifest.Parse("fuzz", data)
		if err != nil {
			return
		}
		roundTrip(t, m)
	})
}
