package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/codebuild"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the containers-images stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "containers-images",
		Description:  "ECR repositories for the application images with lifecycle policies and scanning; a CodeBuild project that builds them",
		Dependencies: []string{"security"},
		Inputs: map[string]protocol.Input{
			"repositories":      {Type: protocol.TypeArray, Default: []any{"frontend", "backend", "worker"}, Description: "application images, one ECR repository each; the build expects a Dockerfile in the source directory of the same name"},
			"maxImageCount":     {Type: protocol.TypeNumber, Default: 30.0, Description: "images each repository keeps; older ones expire"},
			"scanOnPush":        {Type: protocol.TypeBoolean, Default: true, Description: "scan each image for vulnerabilities when it is pushed"},
			"sourceLocation":    {Type: protocol.TypeString, Default: "", Description: "HTTPS URL of the Git repository (GitHub, GitLab, Bitbucket or CodeCommit) the build checks out; empty means each build is started with a source override"},
			"buildComputeType":  {Type: protocol.TypeString, Default: "BUILD_GENERAL1_SMALL", Description: "CodeBuild compute type of the image build"},
			"logRetentionDays":  {Type: protocol.TypeNumber, Default: 30.0, Description: "days the build log group keeps its events"},
			"applicationKeyArn": {Type: protocol.TypeString, Required: true, Description: "KMS key the repositories and build artifacts are encrypted with (security's applicationKeyArn)", Example: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		},
		Outputs: map[string]protocol.Output{
			"repositoryUrls":       {Type: protocol.TypeObject, Description: "URL of each application image repository, by image name"},
			"codebuildProjectName": {Type: protocol.TypeString, Description: "name of the CodeBuild project that builds and pushes the images"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

var (
	imagePattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	computeTypes = map[string]bool{"BUILD_GENERAL1_SMALL": true, "BUILD_GENERAL1_MEDIUM": true, "BUILD_GENERAL1_LARGE": true, "BUILD_GENERAL1_XLARGE": true, "BUILD_GENERAL1_2XLARGE": true}
	sourceHosts  = []struct{ prefix, typ string }{
		{"https://github.com/", "GITHUB"},
		{"https://gitlab.com/", "GITLAB"},
		{"https://bitbucket.org/", "BITBUCKET"},
		{"https://git-codecommit.", "CODECOMMIT"},
	}
	retentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
		150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
		2922: true, 3288: true, 3653: true}
)

// buildspec builds every image named in $IMAGES from the directory of the
// same name and pushes it tagged with the commit and "latest".
const buildspec = `version: 0.2
phases:
  pre_build:
    commands:
      - aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$REGISTRY"
      - TAG="$(echo "${CODEBUILD_RESOLVED_SOURCE_VERSION:-manual}" | cut -c1-12)"
  build:
    commands:
      - |
        for image in $IMAGES; do
          repo="$REGISTRY/$REPOSITORY_PREFIX$image"
          docker build -t "$repo:$TAG" -t "$repo:latest" "$image"
          docker push "$repo:$TAG"
          docker push "$repo:latest"
        done
`

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	images := in.StringList("repositories")
	maxImages := in.Int("maxImageCount")
	scanOnPush := in.Bool("scanOnPush")
	source := in.String("sourceLocation")
	compute := in.String("buildComputeType")
	retention := in.Int("logRetentionDays")
	keyArn := in.String("applicationKeyArn")
	if err := in.Err(); err != nil {
		return err
	}
	if len(images) == 0 {
		return fmt.Errorf("input \"repositories\" lists no image")
	}
	seen := map[string]bool{}
	for i, img := range images {
		if !imagePattern.MatchString(img) {
			return fmt.Errorf("input \"repositories[%d]\": %q must be lowercase letters and digits separated by . _ or -", i, img)
		}
		if seen[img] {
			return fmt.Errorf("input \"repositories[%d]\": %q is listed twice", i, img)
		}
		seen[img] = true
	}
	if maxImages < 1 || maxImages > 10000 {
		return fmt.Errorf("input \"maxImageCount\" must be between 1 and 10000, got %v", in.Number("maxImageCount"))
	}
	if !computeTypes[compute] {
		return fmt.Errorf("input \"buildComputeType\": %q is not a CodeBuild compute type (BUILD_GENERAL1_SMALL … BUILD_GENERAL1_2XLARGE)", compute)
	}
	if !retentionDays[retention] {
		return fmt.Errorf("input \"logRetentionDays\": %d is not a CloudWatch Logs retention period", retention)
	}
	sourceType := "NO_SOURCE"
	if source != "" {
		for _, h := range sourceHosts {
			if strings.HasPrefix(source, h.prefix) {
				sourceType = h.typ
			}
		}
		if sourceType == "NO_SOURCE" {
			return fmt.Errorf("input \"sourceLocation\": %q is not an HTTPS URL of GitHub, GitLab, Bitbucket or CodeCommit", source)
		}
	}

	policy, err := lifecyclePolicy(maxImages)
	if err != nil {
		return err
	}
	urls := pulumi.StringMap{}
	var repoArns pulumi.StringArray
	var registry pulumi.StringOutput
	for i, img := range images {
		name := awskit.NameMax(c, img, 256)
		repo, err := ecr.NewRepository(ctx, name, &ecr.RepositoryArgs{
			Name: pulumi.String(name),
			// Deployments follow the "latest" tag the build moves, so tags
			// stay mutable; every image is also pushed under its commit.
			ImageTagMutability:         pulumi.String("MUTABLE"),
			ImageScanningConfiguration: ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(scanOnPush)},
			EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{ecr.RepositoryEncryptionConfigurationArgs{
				EncryptionType: pulumi.String("KMS"), KmsKey: pulumi.String(keyArn),
			}},
			Tags: awskit.NamedTags(c, name),
		})
		if err != nil {
			return fmt.Errorf("repository %s: %w", img, err)
		}
		if _, err := ecr.NewLifecyclePolicy(ctx, name+"-lifecycle", &ecr.LifecyclePolicyArgs{
			Repository: repo.Name, Policy: pulumi.String(policy),
		}); err != nil {
			return fmt.Errorf("lifecycle policy %s: %w", img, err)
		}
		urls[img] = repo.RepositoryUrl
		repoArns = append(repoArns, repo.Arn)
		if i == 0 {
			registry = repo.RepositoryUrl.ApplyT(func(u string) string { r, _, _ := strings.Cut(u, "/"); return r }).(pulumi.StringOutput)
		}
	}

	logName := "/cloud/" + awskit.Name(c, "build")
	logs, err := cloudwatch.NewLogGroup(ctx, awskit.Name(c, "build-logs"), &cloudwatch.LogGroupArgs{
		Name: pulumi.String(logName), RetentionInDays: pulumi.Int(retention), Tags: awskit.NamedTags(c, logName),
	})
	if err != nil {
		return fmt.Errorf("build log group: %w", err)
	}

	roleName := awskit.NameMax(c, "codebuild", 64)
	role, err := iam.NewRole(ctx, roleName, &iam.RoleArgs{
		Name:             pulumi.String(roleName),
		AssumeRolePolicy: pulumi.String(assumeRole("codebuild.amazonaws.com")),
		Tags:             awskit.NamedTags(c, roleName),
	})
	if err != nil {
		return fmt.Errorf("build role: %w", err)
	}
	doc := pulumi.All(logs.Arn, repoArns.ToStringArrayOutput()).ApplyT(func(xs []any) (string, error) {
		return buildPolicy(xs[0].(string), xs[1].([]string), keyArn)
	}).(pulumi.StringOutput)
	rolePolicy, err := iam.NewRolePolicy(ctx, roleName+"-policy", &iam.RolePolicyArgs{
		Name: pulumi.String("build-and-push"), Role: role.Name, Policy: doc,
	})
	if err != nil {
		return fmt.Errorf("build role policy: %w", err)
	}

	projectName := awskit.NameMax(c, "images", 150)
	env := codebuild.ProjectEnvironmentEnvironmentVariableArray{
		codebuild.ProjectEnvironmentEnvironmentVariableArgs{Name: pulumi.String("REGISTRY"), Value: registry},
		codebuild.ProjectEnvironmentEnvironmentVariableArgs{Name: pulumi.String("REPOSITORY_PREFIX"), Value: pulumi.String(awskit.Name(c, "") + "-")},
		codebuild.ProjectEnvironmentEnvironmentVariableArgs{Name: pulumi.String("IMAGES"), Value: pulumi.String(strings.Join(images, " "))},
	}
	src := codebuild.ProjectSourceArgs{Type: pulumi.String(sourceType), Buildspec: pulumi.String(buildspec)}
	if source != "" {
		src.Location = pulumi.String(source)
		src.GitCloneDepth = pulumi.Int(1)
	}
	project, err := codebuild.NewProject(ctx, projectName, &codebuild.ProjectArgs{
		Name:          pulumi.String(projectName),
		Description:   pulumi.String("builds and pushes the application images of " + awskit.Name(c, "")),
		ServiceRole:   role.Arn,
		EncryptionKey: pulumi.String(keyArn),
		BuildTimeout:  pulumi.Int(60),
		Artifacts:     codebuild.ProjectArtifactsArgs{Type: pulumi.String("NO_ARTIFACTS")},
		Environment: codebuild.ProjectEnvironmentArgs{
			Type:        pulumi.String("LINUX_CONTAINER"),
			ComputeType: pulumi.String(compute),
			Image:       pulumi.String("aws/codebuild/amazonlinux2-x86_64-standard:5.0"),
			// Docker-in-Docker needs it; the build runs only our buildspec.
			PrivilegedMode:       pulumi.Bool(true),
			EnvironmentVariables: env,
		},
		Source: src,
		LogsConfig: codebuild.ProjectLogsConfigArgs{
			CloudwatchLogs: codebuild.ProjectLogsConfigCloudwatchLogsArgs{Status: pulumi.String("ENABLED"), GroupName: logs.Name},
		},
		Tags: awskit.NamedTags(c, projectName),
	}, pulumi.DependsOn([]pulumi.Resource{rolePolicy}))
	if err != nil {
		return fmt.Errorf("build project: %w", err)
	}

	out.Export("repositoryUrls", urls)
	out.Export("codebuildProjectName", project.Name)
	return nil
}

func assumeRole(service string) string {
	b, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": service}, "Action": "sts:AssumeRole",
		}},
	})
	return string(b)
}

// buildPolicy lets the build write its logs and push to its own
// repositories only; GetAuthorizationToken has no resource-level scope.
func buildPolicy(logGroupArn string, repoArns []string, keyArn string) (string, error) {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{"Sid": "Logs", "Effect": "Allow", "Action": []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				"Resource": []string{logGroupArn, logGroupArn + ":*"}},
			map[string]any{"Sid": "EcrLogin", "Effect": "Allow", "Action": []string{"ecr:GetAuthorizationToken"}, "Resource": "*"},
			map[string]any{"Sid": "EcrPush", "Effect": "Allow", "Action": []string{
				"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:GetDownloadUrlForLayer",
				"ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
			}, "Resource": repoArns},
			map[string]any{"Sid": "Kms", "Effect": "Allow", "Action": []string{"kms:Decrypt", "kms:GenerateDataKey"}, "Resource": keyArn},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("build policy: %w", err)
	}
	return string(b), nil
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
