// Command dns is the dns stack of the AWS library: the Route53 hosted zone
// of the deployment's domain (created, or an existing one looked up) and
// ACM certificates for the apex and the wildcard, validated through DNS.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
