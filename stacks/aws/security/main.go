// Command security is the security stack of the AWS library: security
// groups for the load balancer, web, API, database, ECS, EKS and Lambda
// tiers; IAM roles for ECS tasks, EKS and Lambda; and the application,
// database and infrastructure KMS keys.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
