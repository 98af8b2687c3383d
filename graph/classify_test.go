package graph_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestClassify_FuzzFindings: what FuzzQuery found answered INTERNAL has its
// code: gqlgen's own refusal of a request, a malformed ID.
func TestClassify_FuzzFindings(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code string
	}{
		{gqlerror.Errorf("introspection disabled"), graph.CodeBadInput},
		{app.CheckOperationID("op-\x00"), graph.CodeBadInput},
		{fmt.Errorf("deployment DX00000: %w", app.ErrNotFound), graph.CodeNotFound},
		{gqlerror.WrapPath(nil, errors.New("boom")), graph.CodeInternal},
	} {
		if got, _ := graph.Classify(tt.err); got != tt.code {
			t.Errorf("Classify(%v) = %s, want %s", tt.err, got, tt.code)
		}
	}
}
