// Command compute-ec2 is the compute-ec2 stack of the AWS library: web and
// worker instances in auto scaling groups built from hardened launch
// templates, a public ALB in front of the web group, CPU target-tracking
// scaling and the instances' log groups.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
