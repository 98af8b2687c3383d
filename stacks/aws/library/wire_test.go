package library

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/protocol"
)

func TestWire(t *testing.T) {
	all := map[string]protocol.Template{
		"net": {Name: "net", Outputs: map[string]protocol.Output{"vpcId": {Type: "string"}, "subnetIds": {Type: "array"}}},
		"sec": {Name: "sec", Outputs: map[string]protocol.Output{"vpcId": {Type: "string"}, "keyArn": {Type: "string"}}},
		"db": {Name: "db", Dependencies: []string{"net", "sec", "absent"}, Inputs: map[string]protocol.Input{
			"vpcId":     {Type: "string", Required: true},
			"subnetIds": {Type: "array", Required: true},
			"keyArn":    {Type: "number", Example: 3.0}, // a type mismatch is not wired
			"size":      {Type: "number", Default: 20.0},
			"note":      {Type: "string"},
		}},
	}
	w, err := Wire(all, "db", []string{"net", "sec", "db"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"vpcId": "${net.vpcId}", "subnetIds": "${net.subnetIds}", "keyArn": 3.0, "size": 20.0}
	if !reflect.DeepEqual(w.Config, want) {
		t.Errorf("config = %v, want %v", w.Config, want)
	}
	// Without net in the deployment, vpcId comes from sec and subnetIds
	// from nowhere: an error naming the input.
	if _, err := Wire(all, "db", []string{"sec", "db"}); err == nil || !strings.Contains(err.Error(), `"subnetIds"`) {
		t.Errorf("unfed required input: %v", err)
	}
	tmpl, err := DeploymentTemplate(all, "test", []string{"net", "sec", "db"}, []string{"net"})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"  db:\n    enabled: false\n    dependencies: [net, sec]\n", "      vpcId: ${net.vpcId}\n", "  net:\n    enabled: true\n"} {
		if !strings.Contains(string(tmpl), line) {
			t.Errorf("template lacks %q:\n%s", line, tmpl)
		}
	}
}
