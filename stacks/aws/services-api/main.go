// Command services-api is the services-api stack of the AWS library: an
// API Gateway HTTP API in front of the application load balancer, reached
// through a VPC link, with a Cognito JWT authorizer, throttling, access
// logs, an optional custom domain and a WAF web ACL.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
