package kit

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCleanError(t *testing.T) {
	ctx := context.Background()
	transcript := "failed to run preview: exit status 1\ncode: 255\nstdout: \n" +
		"  pulumi:providers:aws default_6_83_4  error: no resource plugin 'pulumi-resource-aws' found in the workspace at version v6.83.4 or on your $PATH\n" +
		"Diagnostics:\n  pulumi:providers:aws (default_6_83_4):\n    error: no resource plugin 'pulumi-resource-aws' found in the workspace at version v6.83.4 or on your $PATH\n\nstderr: \n"
	got := cleanError(ctx, errors.New(transcript), "/home/me/.cloud/pulumi")
	for _, want := range []string{"the Pulumi aws provider plugin (pulumi-resource-aws v6.83.4) is not installed",
		"`PULUMI_HOME=/home/me/.cloud/pulumi pulumi plugin install resource aws 6.83.4`"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing plugin: %q lacks %q", got, want)
		}
	}

	diag := "failed to run update: exit status 1\ncode: 255\nstdout: \n" +
		"Diagnostics:\n  aws:s3:Bucket (b):\n    error: creating bucket: AccessDenied\n  pulumi:pulumi:Stack (p):\n    error: update failed\n    error: update failed\n\nstderr: \n"
	if got := cleanError(ctx, errors.New(diag), ""); got != "creating bucket: AccessDenied\nupdate failed" {
		t.Errorf("diagnostics: got %q", got)
	}
	if got := cleanError(ctx, errors.New("plain failure"), ""); got != "plain failure" {
		t.Errorf("plain: got %q", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if got := cleanError(cctx, errors.New("x"), ""); got != "cancelled" {
		t.Errorf("cancelled: got %q", got)
	}
}
