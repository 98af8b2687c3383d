// Command services-ecr is the services-ecr stack of the AWS library: the
// account's shared ECR registry settings (enhanced scanning, cross-region
// replication) and the base-image repositories application images build
// on.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
