package vocab_test

import (
	"bytes"
	"testing"

	"github.com/cloudplatform/cloud/vocab"
)

func TestHelpers(t *testing.T) {
	for _, k := range vocab.Kinds {
		if got, want := k.Deploys(), k == vocab.KindDeploy || k == vocab.KindRollback; got != want {
			t.Errorf("%s.Deploys() = %v", k, got)
		}
	}
	terminal := map[vocab.OperationStatus]bool{vocab.OpSucceeded: true, vocab.OpFailed: true, vocab.OpCancelled: true, vocab.OpInterrupted: true}
	for _, s := range vocab.OperationStatuses {
		if s.Terminal() != terminal[s] || s.Active() == terminal[s] {
			t.Errorf("%s: Terminal %v, Active %v", s, s.Terminal(), s.Active())
		}
	}
	for _, s := range vocab.StackStatuses {
		if s.Running() && s.Finished() {
			t.Errorf("%s is both running and finished", s)
		}
		if s.Bad() && !s.Finished() {
			t.Errorf("%s is bad but not finished", s)
		}
	}
	if vocab.StackStatus("").Finished() || vocab.StackPending.Finished() {
		t.Error("an unknown or pending stack counts as finished")
	}
}

func TestGQL(t *testing.T) {
	var b bytes.Buffer
	vocab.StackNotDeployed.MarshalGQL(&b)
	if b.String() != `"not_deployed"` {
		t.Errorf("MarshalGQL = %s", b.String())
	}
	var s vocab.StackStatus
	if err := s.UnmarshalGQL("in_sync"); err != nil || s != vocab.StackInSync {
		t.Errorf("UnmarshalGQL(in_sync) = %q, %v", s, err)
	}
	if err := s.UnmarshalGQL("sideways"); err == nil {
		t.Error("UnmarshalGQL accepted an unknown status")
	}
	var k vocab.Kind
	if err := k.UnmarshalGQL(3); err == nil {
		t.Error("UnmarshalGQL accepted a number")
	}
	for _, list := range [][]string{strs(vocab.Kinds), strs(vocab.OperationStatuses), strs(vocab.StackStatuses),
		strs(vocab.DeploymentStatuses), strs(vocab.EventTypes)} {
		seen := map[string]bool{}
		for _, v := range list {
			if seen[v] {
				t.Errorf("%s listed twice", v)
			}
			seen[v] = true
		}
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
