// Command containers-images is the containers-images stack of the AWS
// library: one ECR repository per application image, with scanning,
// encryption and a lifecycle policy, and the CodeBuild project that builds
// and pushes the images.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
