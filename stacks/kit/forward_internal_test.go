package kit

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

func TestChangedKeys(t *testing.T) {
	state := func(in, out map[string]any) *apitype.StepEventStateMetadata {
		return &apitype.StepEventStateMetadata{Inputs: in, Outputs: out}
	}
	tests := []struct {
		name string
		m    apitype.StepEventMetadata
		want []string
	}{
		{"provider diffs", apitype.StepEventMetadata{Op: apitype.OpUpdate, Diffs: []string{"mode", "content"}}, []string{"content", "mode"}},
		{"detailed diff paths", apitype.StepEventMetadata{Op: apitype.OpReplace, DetailedDiff: map[string]apitype.PropertyDiff{
			`tags["env"]`: {Kind: apitype.DiffUpdate}, "rules[0].port": {Kind: apitype.DiffAdd}, "name": {Kind: apitype.DiffUpdateReplace},
		}}, []string{"name", "rules", "tags"}},
		{"component inputs", apitype.StepEventMetadata{Op: apitype.OpUpdate,
			Old: state(map[string]any{"replicas": 2.0, "image": "nginx", "gone": "x"}, nil),
			New: state(map[string]any{"replicas": 3.0, "image": "nginx", "added": true}, nil),
		}, []string{"added", "gone", "replicas"}},
		{"drift in outputs", apitype.StepEventMetadata{Op: apitype.OpUpdate,
			Old: state(map[string]any{"path": "a"}, map[string]any{"path": "a", "sha256": "1"}),
			New: state(map[string]any{"path": "a"}, map[string]any{"path": "a", "sha256": "2"}),
		}, []string{"sha256"}},
		{"same names nothing", apitype.StepEventMetadata{Op: apitype.OpSame,
			Old: state(map[string]any{"a": 1.0}, nil), New: state(map[string]any{"a": 2.0}, nil),
		}, nil},
		{"create names nothing", apitype.StepEventMetadata{Op: apitype.OpCreate, New: state(map[string]any{"a": 1.0}, nil)}, nil},
	}
	for _, tt := range tests {
		if got := changedKeys(tt.m); !slices.Equal(got, tt.want) {
			t.Errorf("%s: changedKeys = %q, want %q", tt.name, got, tt.want)
		}
	}
}
