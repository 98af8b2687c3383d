package kit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tail"
)

// stackType is the type of the resource every Pulumi stack has at its
// root; its outputs are the stack's outputs.
const stackType = "pulumi:pulumi:Stack"

// secretMask is how the engine's event log shows a secret value.
const secretMask = "[secret]"

// upProject runs `pulumi up` of a project stack with the flags Stack.Up
// passes, but takes the stack's outputs from the stack resource's outputs
// event and the change counts from the summary event. Stack.Up instead
// starts the CLI three more times after the update (`stack output` twice,
// `stack history`), which tripled the time cloud added to a raw
// `pulumi up` (docs/performance.md). Secret outputs are masked in the
// event log; only when there is one is `stack output --show-secrets` run.
func upProject(ctx context.Context, ws auto.Workspace, c *cli, req protocol.Request, w *writer, res *protocol.Result) error {
	logDir, err := os.MkdirTemp("", "cloud-events-")
	if err != nil {
		return fmt.Errorf("create the event log: %w", err)
	}
	defer os.RemoveAll(logDir)
	logFile := filepath.Join(logDir, "events.jsonl")
	t, err := tail.File(logFile, tail.Config{Follow: true, Logger: tail.DiscardingLogger, CompleteLines: true})
	if err != nil {
		return fmt.Errorf("follow the event log: %w", err)
	}
	defer t.Cleanup()

	ch := make(chan events.EngineEvent, 64)
	var outputs map[string]any
	var changes map[string]int
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer close(ch)
		for line := range t.Lines {
			if line.Err != nil {
				continue
			}
			var e apitype.EngineEvent
			if json.Unmarshal([]byte(line.Text), &e) != nil {
				continue
			}
			if o := e.ResOutputsEvent; o != nil && o.Metadata.Type == stackType && o.Metadata.New != nil {
				outputs = o.Metadata.New.Outputs
			}
			if s := e.SummaryEvent; s != nil {
				changes = opCounts(s.ResourceChanges)
			}
			ch <- events.EngineEvent{EngineEvent: e}
		}
	}()
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		forward(ch, w)
	}()

	args := []string{"up", "--yes", "--skip-preview", "--exec-kind=auto.local", "--event-log", logFile, "--suppress-progress"}
	if req.RefreshFirst {
		args = append(args, "--refresh")
	}
	args = append(args, "--stack", req.Stack)
	stdout, stderr, code, runErr := c.Run(ctx, ws.WorkDir(), nil, nil, nil, cliEnv(ws), args...)
	// The engine has exited: read the log to its end, then stop.
	_ = t.StopAtEOF()
	<-read
	<-forwarded
	if runErr != nil {
		// The shape of the Automation API's errors, which cleanError reads.
		return fmt.Errorf("failed to run update: %w\ncode: %d\nstdout: %s\nstderr: %s", runErr, code, stdout, stderr)
	}

	res.Changes = changes
	res.ResourceCount = resourceCount(changes)
	res.Outputs = make(map[string]protocol.Value, len(outputs))
	var masked []string
	for k, v := range outputs {
		if masks(v) {
			masked = append(masked, k)
		}
		res.Outputs[k] = protocol.Value{Value: v}
	}
	if len(masked) == 0 {
		return nil
	}
	values, err := secretOutputs(ctx, ws, c, req.Stack)
	if err != nil {
		return err
	}
	for _, k := range masked {
		res.Outputs[k] = protocol.Value{Value: values[k], Secret: outputs[k] == secretMask}
	}
	return nil
}

// masks reports whether an output value holds a masked secret anywhere.
func masks(v any) bool {
	switch x := v.(type) {
	case string:
		return x == secretMask
	case []any:
		for _, e := range x {
			if masks(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if masks(e) {
				return true
			}
		}
	}
	return false
}

// secretOutputs reads the stack's outputs with their secret values.
func secretOutputs(ctx context.Context, ws auto.Workspace, c *cli, stack string) (map[string]any, error) {
	stdout, stderr, _, err := c.Run(ctx, ws.WorkDir(), nil, nil, nil, cliEnv(ws),
		"stack", "output", "--json", "--show-secrets", "--stack", stack)
	if err != nil {
		return nil, fmt.Errorf("read the stack's secret outputs: %w: %s", err, strings.TrimSpace(stderr))
	}
	var values map[string]any
	if err := json.Unmarshal([]byte(stdout), &values); err != nil {
		return nil, fmt.Errorf("read the stack's secret outputs: %w", err)
	}
	return values, nil
}

// cliEnv is the environment the Automation API gives the CLI for a stack
// command: the workspace's variables and PULUMI_HOME, and the debug
// switch that makes the CLI write an event log.
func cliEnv(ws auto.Workspace) []string {
	env := []string{"PULUMI_DEBUG_COMMANDS=true"}
	if h := ws.PulumiHome(); h != "" {
		env = append(env, "PULUMI_HOME="+h)
	}
	for k, v := range ws.GetEnvVars() {
		env = append(env, k+"="+v)
	}
	return env
}
