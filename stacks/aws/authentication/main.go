// Command authentication is the authentication stack of the AWS library: a
// Cognito user pool with groups, web and admin app clients, a hosted
// sign-in domain, and an identity pool whose signed-in users get an
// authenticated IAM role.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
