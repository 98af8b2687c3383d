package awstest

import (
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// bucketStack is a one-bucket stack in the library's style.
var bucketStack = kit.Stack{
	Template: protocol.Template{
		Name:    "bucket",
		Inputs:  map[string]protocol.Input{"versioning": {Type: protocol.TypeBoolean, Default: true}},
		Outputs: map[string]protocol.Output{"bucketName": {Type: protocol.TypeString}, "zones": {Type: protocol.TypeArray}},
	},
	Mocks: awskit.Mocks{},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		c := in.Context()
		name := awskit.NameMax(c, "assets", 63)
		b, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{Bucket: pulumi.String(name), Tags: awskit.Tags(c, nil)})
		if err != nil {
			return err
		}
		if in.Bool("versioning") {
			if _, err := s3.NewBucketVersioningV2(ctx, name+"-versioning", &s3.BucketVersioningV2Args{
				Bucket: b.ID(), VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
			}); err != nil {
				return err
			}
		}
		azs, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")})
		if err != nil {
			return err
		}
		out.Export("bucketName", b.Bucket)
		out.Export("zones", pulumi.ToStringArray(azs.Names))
		return nil
	},
}

func TestRunRecordsResourcesOutputsNamesAndTags(t *testing.T) {
	r := Run(t, bucketStack, nil)
	b := r.One(t, "aws:s3/bucketV2:BucketV2", "-assets")
	if b.Inputs["bucket"] != "d1a2b3c4-bucket-dev-assets" {
		t.Errorf("bucket name = %v", b.Inputs["bucket"])
	}
	if got := len(r.OfType("aws:s3/bucketVersioningV2:BucketVersioningV2")); got != 1 {
		t.Errorf("versioning resources = %d, want 1", got)
	}
	if zones, _ := r.Values["zones"].([]string); len(zones) != 3 || zones[0] != "us-east-1a" {
		t.Errorf("zones = %v, want the mocked three of us-east-1", r.Values["zones"])
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)

	off := Run(t, bucketStack, map[string]any{"versioning": false})
	if got := len(off.OfType("aws:s3/bucketVersioningV2:BucketVersioningV2")); got != 0 {
		t.Errorf("versioning off: %d versioning resources", got)
	}
}

func TestAssertionsCatchMistakes(t *testing.T) {
	bad := bucketStack
	bad.Template.Outputs = map[string]protocol.Output{"bucketName": {Type: protocol.TypeNumber}, "missing": {Type: protocol.TypeString}}
	r := Run(t, bad, nil)
	rec := &testing.T{}
	r.AssertOutputs(rec)
	if !rec.Failed() {
		t.Error("AssertOutputs passed a wrong type, a missing and an undeclared output")
	}
}

func TestFit(t *testing.T) {
	long := "d1a2b3c4-containers-apps-production-internal-load-balancer"
	got := awskit.Fit(long, 32)
	if len(got) != 32 || got != awskit.Fit(long, 32) || got == awskit.Fit(long+"x", 32) {
		t.Errorf("Fit(%q, 32) = %q: want 32 stable, distinct characters", long, got)
	}
	if awskit.Fit("short", 32) != "short" {
		t.Error("Fit changed a short name")
	}
}
