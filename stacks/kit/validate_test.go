package kit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// sloppy reads an input it does not declare and exports values of every
// type, one of them secret and one not declared.
var sloppy = kit.Stack{
	Template: protocol.Template{
		Name: "sloppy",
		Inputs: map[string]protocol.Input{
			"name":  {Type: protocol.TypeString, Required: true},
			"count": {Type: protocol.TypeNumber, Default: 3.0},
			"tags":  {Type: protocol.TypeArray},
		},
		Outputs: map[string]protocol.Output{
			"id":    {Type: protocol.TypeString},
			"count": {Type: protocol.TypeNumber},
			"key":   {Type: protocol.TypeString, Secret: true},
		},
	},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		name, count := in.String("name"), in.Int("count")
		_ = in.String("vpcId") // not declared
		out.Export("id", pulumi.String(name+"-id"))
		out.Export("count", pulumi.Int(count))
		out.Export("key", pulumi.String("k"))
		out.Export("enabled", pulumi.Bool(true))
		out.Export("list", pulumi.StringArray{pulumi.String("a")})
		out.Export("map", pulumi.Map{"a": pulumi.Int(1)})
		return nil
	},
}

func TestValidateRecordsReadsAndOutputTypes(t *testing.T) {
	v := kit.Validate(sloppy, nil)
	if v.Error != "" {
		t.Fatalf("error: %s", v.Error)
	}
	if want := []string{"count", "name", "vpcId"}; !reflect.DeepEqual(v.InputsRead, want) {
		t.Errorf("inputs read = %v, want %v", v.InputsRead, want)
	}
	want := map[string]protocol.ValidationOutput{
		"id":      {Type: "string"},
		"count":   {Type: "number"},
		"key":     {Type: "string", Secret: true},
		"enabled": {Type: "boolean"},
		"list":    {Type: "array"},
		"map":     {Type: "object"},
	}
	if !reflect.DeepEqual(v.Outputs, want) {
		t.Errorf("outputs = %v, want %v", v.Outputs, want)
	}
}

func TestValidateServeReadsConfigFromStdin(t *testing.T) {
	var got string
	s := kit.Stack{
		Template: protocol.Template{Name: "echo", Inputs: map[string]protocol.Input{"msg": {Type: protocol.TypeString, Required: true}}},
		Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
			got = in.String("msg")
			return nil
		},
	}
	var stdout, stderr bytes.Buffer
	code := kit.Serve(s, []string{"validate"}, strings.NewReader(`{"config":{"msg":{"value":"hello"}}}`), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got != "hello" {
		t.Errorf("program read %q, want the value given on stdin", got)
	}
	var v protocol.Validation
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.InputsRead, []string{"msg"}) {
		t.Errorf("inputs read = %v", v.InputsRead)
	}

	// Empty stdin: the typed sample.
	stdout.Reset()
	if code := kit.Serve(s, []string{"validate"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d with empty stdin: %s", code, stderr.String())
	}
	if got != "sample" {
		t.Errorf("program read %q, want the sample", got)
	}
}

func TestValidateReportsProgramError(t *testing.T) {
	s := kit.Stack{
		Template: protocol.Template{Name: "broken"},
		Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
			return errors.New("boom")
		},
	}
	var stdout, stderr bytes.Buffer
	if code := kit.Serve(s, []string{"validate"}, strings.NewReader("{}"), &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var v protocol.Validation
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Error, "boom") {
		t.Errorf("error = %q, want the program's", v.Error)
	}
}

func TestValidateSampleConfig(t *testing.T) {
	tmpl := protocol.Template{Inputs: map[string]protocol.Input{
		"s": {Type: protocol.TypeString}, "n": {Type: protocol.TypeNumber}, "b": {Type: protocol.TypeBoolean},
		"a": {Type: protocol.TypeArray}, "o": {Type: protocol.TypeObject}, "d": {Type: protocol.TypeString, Default: "dflt"},
	}}
	got := kit.SampleConfig(tmpl, map[string]protocol.Value{"s": {Value: "given"}})
	want := map[string]any{"s": "given", "n": 1.0, "b": true, "a": []any{"sample"}, "o": map[string]any{}, "d": "dflt"}
	for k, w := range want {
		if !reflect.DeepEqual(got[k].Value, w) {
			t.Errorf("%s = %#v, want %#v", k, got[k].Value, w)
		}
	}
}

// TestValidateNeverResolvingOutputs: several outputs that never resolve
// make the validation report them unknown after one timeout, not hang.
func TestValidateNeverResolvingOutputs(t *testing.T) {
	s := kit.Stack{
		Template: protocol.Template{Name: "stuck", Outputs: map[string]protocol.Output{
			"a": {Type: protocol.TypeString}, "b": {Type: protocol.TypeString}, "c": {Type: protocol.TypeString}}},
		Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
			for _, n := range []string{"a", "b", "c"} {
				out.Export(n, pulumi.UnsafeUnknownOutput(nil))
			}
			return nil
		},
	}
	done := make(chan protocol.Validation, 1)
	go func() { done <- kit.Validate(s, nil) }()
	select {
	case v := <-done:
		for _, n := range []string{"a", "b", "c"} {
			if v.Outputs[n].Type != "unknown" {
				t.Errorf("output %s: %+v, want unknown", n, v.Outputs[n])
			}
		}
	case <-time.After(time.Minute):
		t.Fatal("Validate hangs on outputs that never resolve")
	}
}
