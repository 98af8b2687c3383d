// Command containers-apps is the containers-apps stack of the AWS library:
// an ECS Fargate cluster running the application images as services in
// private subnets behind a public HTTPS load balancer, with CPU target
// tracking, Cloud Map service discovery and the DNS record of the
// application.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
