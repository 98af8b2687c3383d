// Command platform is the platform stack: what cloud itself needs in a
// team's AWS account. It creates the DynamoDB table the sync engine shares
// (keys, change-feed index and TTL from package sync/schema) and the
// Cognito user pool with the admin, deployer and viewer groups and an app
// client for the CLI and the server.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
