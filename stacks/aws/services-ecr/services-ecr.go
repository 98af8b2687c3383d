package main

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the services-ecr stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "services-ecr",
		Description:  "shared ECR registry settings: enhanced scanning, replication to other regions, base-image repositories",
		Dependencies: []string{"security"},
		Inputs: map[string]protocol.Input{
			"replicationRegions": {Type: protocol.TypeArray, Default: []any{}, Description: "other regions every repository of the registry is replicated to"},
			"scanOnPush":         {Type: protocol.TypeBoolean, Default: true, Description: "scan images when they are pushed (enhanced scanning always does)"},
			"enhancedScanning":   {Type: protocol.TypeBoolean, Default: true, Description: "use Amazon Inspector enhanced scanning (continuous, OS and language packages) instead of basic scanning"},
			"baseRepositories":   {Type: protocol.TypeArray, Default: []any{"node", "python", "golang"}, Description: "names of the base-image repositories to create"},
			"maxImageCount":      {Type: protocol.TypeNumber, Default: 30.0, Description: "images each base repository keeps; older ones expire"},
			"applicationKeyArn":  {Type: protocol.TypeString, Required: true, Description: "KMS key the base repositories are encrypted with (security's applicationKeyArn)", Example: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		},
		Outputs: map[string]protocol.Output{
			"registryId":         {Type: protocol.TypeString, Description: "ID (account) of the registry"},
			"registryUri":        {Type: protocol.TypeString, Description: "registry host, <account>.dkr.ecr.<region>.amazonaws.com"},
			"baseRepositoryUrls": {Type: protocol.TypeObject, Description: "URL of each base-image repository, by name"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

var (
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	// ECR repository names: lowercase segments separated by / . _ or -.
	repoPattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
)

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	regions := in.StringList("replicationRegions")
	scanOnPush := in.Bool("scanOnPush")
	enhanced := in.Bool("enhancedScanning")
	bases := in.StringList("baseRepositories")
	maxImages := in.Int("maxImageCount")
	keyArn := in.String("applicationKeyArn")
	if err := in.Err(); err != nil {
		return err
	}
	if err := checkRegions(regions, c.Region); err != nil {
		return err
	}
	if maxImages < 1 || maxImages > 10000 {
		return fmt.Errorf("input \"maxImageCount\" must be between 1 and 10000, got %d", maxImages)
	}
	if err := checkRepositories(bases); err != nil {
		return err
	}

	// Enhanced scanning only knows SCAN_ON_PUSH and CONTINUOUS_SCAN;
	// continuous includes the scan on push and rescans when new CVEs are
	// published, so it is the one to use.
	scanType, frequency := "BASIC", "MANUAL"
	switch {
	case enhanced && !scanOnPush:
		return fmt.Errorf("input \"scanOnPush\" is false but enhanced scanning always scans on push; set \"enhancedScanning\" to false to scan manually")
	case enhanced:
		scanType, frequency = "ENHANCED", "CONTINUOUS_SCAN"
	case scanOnPush:
		frequency = "SCAN_ON_PUSH"
	}
	scanning, err := ecr.NewRegistryScanningConfiguration(ctx, awskit.Name(c, "scanning"), &ecr.RegistryScanningConfigurationArgs{
		ScanType: pulumi.String(scanType),
		Rules: ecr.RegistryScanningConfigurationRuleArray{ecr.RegistryScanningConfigurationRuleArgs{
			ScanFrequency: pulumi.String(frequency),
			RepositoryFilters: ecr.RegistryScanningConfigurationRuleRepositoryFilterArray{
				ecr.RegistryScanningConfigurationRuleRepositoryFilterArgs{Filter: pulumi.String("*"), FilterType: pulumi.String("WILDCARD")},
			},
		}},
	})
	if err != nil {
		return fmt.Errorf("registry scanning: %w", err)
	}
	registryID := scanning.RegistryId

	if len(regions) > 0 {
		var dests ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArray
		for _, r := range regions {
			dests = append(dests, ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs{
				Region: pulumi.String(r), RegistryId: registryID,
			})
		}
		if _, err := ecr.NewReplicationConfiguration(ctx, awskit.Name(c, "replication"), &ecr.ReplicationConfigurationArgs{
			ReplicationConfiguration: ecr.ReplicationConfigurationReplicationConfigurationArgs{
				Rules: ecr.ReplicationConfigurationReplicationConfigurationRuleArray{
					ecr.ReplicationConfigurationReplicationConfigurationRuleArgs{Destinations: dests},
				},
			},
		}); err != nil {
			return fmt.Errorf("registry replication: %w", err)
		}
	}

	policy, err := lifecyclePolicy(maxImages)
	if err != nil {
		return err
	}
	urls := pulumi.StringMap{}
	for _, base := range bases {
		name := awskit.NameMax(c, "base-"+base, 256)
		repo, err := ecr.NewRepository(ctx, name, &ecr.RepositoryArgs{
			Name: pulumi.String(name),
			// Base images are re-pushed under the same tag (node:20) when
			// they are patched, so tags stay mutable.
			ImageTagMutability:         pulumi.String("MUTABLE"),
			ImageScanningConfiguration: ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(scanOnPush)},
			EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{ecr.RepositoryEncryptionConfigurationArgs{
				EncryptionType: pulumi.String("KMS"), KmsKey: pulumi.String(keyArn),
			}},
			Tags: awskit.NamedTags(c, name),
		})
		if err != nil {
			return fmt.Errorf("repository %s: %w", base, err)
		}
		if _, err := ecr.NewLifecyclePolicy(ctx, name+"-lifecycle", &ecr.LifecyclePolicyArgs{
			Repository: repo.Name, Policy: pulumi.String(policy),
		}); err != nil {
			return fmt.Errorf("lifecycle policy %s: %w", base, err)
		}
		urls[base] = repo.RepositoryUrl
	}

	out.Export("registryId", registryID)
	out.Export("registryUri", pulumi.Sprintf("%s.dkr.ecr.%s.amazonaws.com", registryID, c.Region))
	out.Export("baseRepositoryUrls", urls)
	return nil
}

func checkRegions(regions []string, home string) error {
	seen := map[string]bool{}
	for i, r := range regions {
		switch {
		case !regionPattern.MatchString(r):
			return fmt.Errorf("input \"replicationRegions[%d]\": %q is not an AWS region name", i, r)
		case r == home:
			return fmt.Errorf("input \"replicationRegions[%d]\": %q is the registry's own region", i, r)
		case seen[r]:
			return fmt.Errorf("input \"replicationRegions[%d]\": %q is listed twice", i, r)
		}
		seen[r] = true
	}
	if len(regions) > 25 {
		return fmt.Errorf("input \"replicationRegions\": at most 25 destinations, got %d", len(regions))
	}
	return nil
}

func checkRepositories(names []string) error {
	seen := map[string]bool{}
	for i, n := range names {
		if !repoPattern.MatchString(n) {
			return fmt.Errorf("input \"baseRepositories[%d]\": %q must be lowercase letters and digits separated by . _ or -", i, n)
		}
		if seen[n] {
			return fmt.Errorf("input \"baseRepositories[%d]\": %q is listed twice", i, n)
		}
		seen[n] = true
	}
	return nil
}

// lifecyclePolicy keeps the newest maxImages images of a repository.
func lifecyclePolicy(maxImages int) (string, error) {
	doc := map[string]any{"rules": []any{map[string]any{
		"rulePriority": 1,
		"description":  fmt.Sprintf("keep the newest %d images", maxImages),
		"selection":    map[string]any{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": maxImages},
		"action":       map[string]any{"type": "expire"},
	}}}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("lifecycle policy: %w", err)
	}
	return string(b), nil
}
