package main_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoPulumiProviderSDKInCloud: the cloud binary runs stacks as separate
// programs, so the Pulumi AWS provider SDK (hundreds of megabytes of
// generated code) stays out of it; only stack binaries link it.
func TestNoPulumiProviderSDKInCloud(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed %d packages", len(deps))
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/pulumi/pulumi-aws/") {
			t.Errorf("cloud depends on %s", d)
		}
	}
}
