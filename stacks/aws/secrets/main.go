// Command secrets is the secrets stack of the AWS library: Secrets Manager
// secrets for the database master credentials, the JWT signing key, the
// session secret and external API keys, encrypted with the application KMS
// key, and an IAM policy that reads them.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
