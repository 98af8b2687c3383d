// Command services-ecs is the services-ecs stack of the AWS library: a
// shared ECS cluster with container insights, Fargate and Fargate Spot
// capacity providers, and encrypted, logged ECS Exec sessions.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
