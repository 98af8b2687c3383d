// Command network is the network stack of the AWS library: a VPC across two
// or three availability zones with public, private and database subnets, an
// internet gateway, NAT gateways, route tables, optional VPC flow logs to
// CloudWatch and optional S3 and ECR VPC endpoints.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
