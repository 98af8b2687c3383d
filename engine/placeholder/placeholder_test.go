package placeholder_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/engine/placeholder"
)

func TestParse(t *testing.T) {
	out := func(raw, stack, output string) placeholder.Segment {
		return placeholder.Segment{Ref: &placeholder.Ref{Raw: raw, Kind: placeholder.KindOutput, Stack: stack, Output: output}}
	}
	named := func(raw string, k placeholder.Kind, name string) placeholder.Segment {
		return placeholder.Segment{Ref: &placeholder.Ref{Raw: raw, Kind: k, Name: name}}
	}
	lit := func(s string) placeholder.Segment { return placeholder.Segment{Literal: s} }
	tests := []struct {
		in   string
		want []placeholder.Segment
	}{
		{"", nil},
		{"plain", []placeholder.Segment{lit("plain")}},
		{"${network.vpcId}", []placeholder.Segment{out("${network.vpcId}", "network", "vpcId")}},
		{"${stack.network.vpcId}", []placeholder.Segment{out("${stack.network.vpcId}", "network", "vpcId")}},
		{"{{network.vpcId}}", []placeholder.Segment{out("{{network.vpcId}}", "network", "vpcId")}},
		{"{{ network.vpcId }}", []placeholder.Segment{out("{{ network.vpcId }}", "network", "vpcId")}},
		{"${database-rds.endpoint}", []placeholder.Segment{out("${database-rds.endpoint}", "database-rds", "endpoint")}},
		{"${app.a.b}", []placeholder.Segment{out("${app.a.b}", "app", "a.b")}},
		{"${stack.env.x}", []placeholder.Segment{out("${stack.env.x}", "env", "x")}},
		{"${deployment.id}", []placeholder.Segment{named("${deployment.id}", placeholder.KindDeployment, "id")}},
		{"${env.account_id}", []placeholder.Segment{named("${env.account_id}", placeholder.KindEnv, "account_id")}},
		{"${var.HOME_DIR}", []placeholder.Segment{named("${var.HOME_DIR}", placeholder.KindVar, "HOME_DIR")}},
		{"${calc.uuid}", []placeholder.Segment{named("${calc.uuid}", placeholder.KindCalc, "uuid")}},
		{"http://${network.host}:80/x", []placeholder.Segment{lit("http://"), out("${network.host}", "network", "host"), lit(":80/x")}},
		{"cost $5 {x} $${literal}", []placeholder.Segment{lit("cost $5 {x} ${literal}")}},
		{"${a.b}${c.d}", []placeholder.Segment{out("${a.b}", "a", "b"), out("${c.d}", "c", "d")}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := placeholder.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParse_errors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"x ${network.vpcId", `placeholder "${network.vpcId": unterminated (missing })`},
		{"{{a.b}", `placeholder "{{a.b}": unterminated (missing }})`},
		{"${}", `placeholder "${}": empty reference`},
		{"${ }", `placeholder "${ }": empty reference`},
		{"${network}", `placeholder "${network}": want namespace.name or stack.output`},
		{"${Network.vpc}", `placeholder "${Network.vpc}": unknown namespace or bad stack name "Network"`},
		{"${deployment.name}", `placeholder "${deployment.name}": unknown deployment field "name" (want one of id, domain, organization, project)`},
		{"${env.zone}", `placeholder "${env.zone}": unknown env field "zone" (want one of name, region, account_id)`},
		{"${calc.random}", `placeholder "${calc.random}": unknown calc field "random" (want one of uuid, timestamp)`},
		{"${var.1X}", `placeholder "${var.1X}": bad environment variable name "1X"`},
		{"${net.a..b}", `placeholder "${net.a..b}": bad output name "a..b"`},
		{"${stack.net}", `placeholder "${stack.net}": want stack.<stack>.<output>`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := placeholder.Parse(tt.in)
			var se *placeholder.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v, want *SyntaxError", tt.in, err)
			}
			if got, want := err.Error(), tt.want; got != want {
				t.Errorf("error = %q, want %q", got, want)
			}
		})
	}
}

func TestDependencies(t *testing.T) {
	v := map[string]any{
		"a": "${network.vpcId}",
		"b": []any{"x-${db.host}", map[string]any{"c": "{{network.subnets}}"}},
		"d": "${env.region}",
		"e": 3.0,
	}
	got, err := placeholder.Dependencies(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"db", "network"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dependencies = %v, want %v", got, want)
	}
	_, err = placeholder.Refs(map[string]any{"x": []any{"ok", "${bad"}})
	if got, want := err.Error(), `x[1]: placeholder "${bad": unterminated (missing })`; got != want {
		t.Errorf("Refs error = %q, want %q", got, want)
	}
}

func testContext() *placeholder.Context {
	outputs := map[string]placeholder.Value{
		"network.vpcId":   {Value: "vpc-1"},
		"network.subnets": {Value: []any{"a", "b"}},
		"network.count":   {Value: 3.0},
		"db.password":     {Value: "hunter2", Secret: true},
		"db.host":         {Value: "mock-host", Mock: true},
	}
	return &placeholder.Context{
		DeploymentID: "D1BRV40", Domain: "example.com", Organization: "acme", Project: "shop",
		EnvName: "dev", Region: "us-east-1", AccountID: "123456789012",
		Output: func(stack, name string) (placeholder.Value, bool) {
			v, ok := outputs[stack+"."+name]
			return v, ok
		},
		LookupEnv: func(k string) (string, bool) {
			if k == "TOKEN" {
				return "t0k", true
			}
			return "", false
		},
		Now:     func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)) },
		NewUUID: func() string { return "uuid-1" },
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name         string
		in           any
		want         any
		secret, mock bool
	}{
		{"literal", "abc", "abc", false, false},
		{"number", 5.0, 5.0, false, false},
		{"whole string", "${network.vpcId}", "vpc-1", false, false},
		{"whole list keeps type", "${network.subnets}", []any{"a", "b"}, false, false},
		{"whole number keeps type", "{{network.count}}", 3.0, false, false},
		{"embedded list as JSON", "s=${network.subnets}", `s=["a","b"]`, false, false},
		{"embedded number", "n${network.count}", "n3", false, false},
		{"deployment and env", "${deployment.id}-${deployment.organization}-${env.name}-${env.region}-${env.account_id}-${deployment.domain}-${deployment.project}",
			"D1BRV40-acme-dev-us-east-1-123456789012-example.com-shop", false, false},
		{"var", "Bearer ${var.TOKEN}", "Bearer t0k", false, false},
		{"calc", "${calc.uuid} ${calc.timestamp}", "uuid-1 2025-01-02T02:04:05Z", false, false},
		{"escape", "$${network.vpcId}", "${network.vpcId}", false, false},
		{"secret", map[string]any{"p": "${db.password}"}, map[string]any{"p": "hunter2"}, true, false},
		{"mock", []any{"${db.host}", true, nil}, []any{"mock-host", true, nil}, false, true},
		{"nested", map[string]any{"a": map[string]any{"b": []any{"${network.vpcId}"}}}, map[string]any{"a": map[string]any{"b": []any{"vpc-1"}}}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, secret, mock, err := placeholder.Resolve(tt.in, testContext())
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve = %#v, want %#v", got, tt.want)
			}
			if got, want := secret, tt.secret; got != want {
				t.Errorf("secret = %v, want %v", got, want)
			}
			if got, want := mock, tt.mock; got != want {
				t.Errorf("mock = %v, want %v", got, want)
			}
		})
	}
}

func TestResolve_freshCopy(t *testing.T) {
	list := []any{"a"}
	c := &placeholder.Context{Output: func(string, string) (placeholder.Value, bool) { return placeholder.Value{Value: list}, true }}
	in := map[string]any{"l": "${n.l}", "m": map[string]any{"k": "v"}}
	got, _, _, err := placeholder.Resolve(in, c)
	if err != nil {
		t.Fatal(err)
	}
	got.(map[string]any)["l"].([]any)[0] = "changed"
	got.(map[string]any)["m"].(map[string]any)["k"] = "changed"
	if got, want := list[0], "a"; got != want {
		t.Errorf("upstream output changed to %v", got)
	}
	if got, want := in["m"].(map[string]any)["k"], "v"; got != want {
		t.Errorf("input changed to %v", got)
	}
}

func TestResolve_unresolved(t *testing.T) {
	tests := []struct {
		name string
		in   any
		ctx  *placeholder.Context
		want string
	}{
		{"missing output", map[string]any{"vpc": "${network.vpcid}"}, testContext(), `vpc: cannot resolve ${network.vpcid}: stack "network" has no output "vpcid"`},
		{"no output function", "${network.vpcId}", &placeholder.Context{}, `cannot resolve ${network.vpcId}: no outputs are available for stack "network"`},
		{"missing var", []any{"x", "${var.NOPE_NOT_SET}"}, testContext(), `[1]: cannot resolve ${var.NOPE_NOT_SET}: environment variable "NOPE_NOT_SET" is not set`},
		{"empty account", "${env.account_id}", &placeholder.Context{}, `cannot resolve ${env.account_id}: environment account_id is not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := placeholder.Resolve(tt.in, tt.ctx)
			var ue *placeholder.UnresolvedError
			if !errors.As(err, &ue) {
				t.Fatalf("Resolve error = %v, want *UnresolvedError", err)
			}
			if got, want := err.Error(), tt.want; got != want {
				t.Errorf("error = %q, want %q", got, want)
			}
		})
	}
}

func TestResolve_defaults(t *testing.T) {
	t.Setenv("PLACEHOLDER_TEST_VAR", "v")
	got, _, _, err := placeholder.Resolve([]any{"${var.PLACEHOLDER_TEST_VAR}", "${calc.uuid}", "${calc.timestamp}"}, &placeholder.Context{})
	if err != nil {
		t.Fatal(err)
	}
	l := got.([]any)
	if got, want := l[0], "v"; got != want {
		t.Errorf("var = %v, want %v", got, want)
	}
	if u := l[1].(string); len(u) != 36 || u[14] != '4' {
		t.Errorf("uuid = %q, want a version 4 UUID", u)
	}
	if _, err := time.Parse(time.RFC3339, l[2].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := os.ReadFile(filepath.Join("testdata", "seeds.txt"))
	for _, s := range strings.Split(string(seeds), "\n") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := placeholder.Parse(s)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, seg := range segs {
			if (seg.Ref == nil) == (seg.Literal == "") {
				t.Fatalf("segment %+v: want exactly one of Literal and Ref", seg)
			}
			if seg.Ref != nil {
				b.WriteString(seg.Ref.Raw)
			} else {
				b.WriteString(seg.Literal)
			}
		}
		if !strings.Contains(s, "$${") && b.String() != s {
			t.Errorf("segments give %q, want %q", b.String(), s)
		}
		if _, _, _, err := placeholder.Resolve(s, &placeholder.Context{}); err == nil && len(segs) > 0 && segs[0].Ref != nil && segs[0].Ref.Kind == placeholder.KindOutput {
			t.Errorf("Resolve(%q) with no outputs succeeded", s)
		}
	})
}

func TestRef_ExplicitStack(t *testing.T) {
	for in, want := range map[string]bool{
		"${evn.region}":         false,
		"${stack.evn.region}":   true,
		"{{ stack.net.vpcId }}": true,
		"{{ network.vpcId }}":   false,
		"${env.region}":         false,
	} {
		segs, err := placeholder.Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if got := segs[0].Ref.ExplicitStack(); got != want {
			t.Errorf("%s: ExplicitStack() = %v, want %v", in, got, want)
		}
	}
}

func TestNamespaces_parseAsNamespaces(t *testing.T) {
	// Every namespace offered in hints is one Parse reads as a namespace,
	// not as a stack name.
	for _, ns := range placeholder.Namespaces() {
		ref := "${" + ns + ".x}"
		if ns == "stack" {
			ref = "${stack.x.y}"
		}
		segs, err := placeholder.Parse(ref)
		if err != nil {
			continue // a closed namespace refuses the field x: still a namespace
		}
		if r := segs[0].Ref; r.Kind == placeholder.KindOutput && r.Stack == ns {
			t.Errorf("%s is read as an output of stack %q", ref, ns)
		}
	}
}
