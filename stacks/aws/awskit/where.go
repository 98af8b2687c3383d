package awskit

import (
	"fmt"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AccountOf is the deployment's AWS account, or the caller's (the
// provider's credentials) when the environment does not name one.
func AccountOf(ctx *pulumi.Context, c protocol.Context) (string, error) {
	if c.AccountID != "" {
		return c.AccountID, nil
	}
	id, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("look up account: %w", err)
	}
	return id.AccountId, nil
}

// RegionOf is the environment's region, or the provider's when the
// environment does not name one.
func RegionOf(ctx *pulumi.Context, c protocol.Context) (string, error) {
	if c.Region != "" {
		return c.Region, nil
	}
	r, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("look up region: %w", err)
	}
	return r.Name, nil
}
