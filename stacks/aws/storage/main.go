// Command storage is the storage stack of the AWS library: S3 buckets for
// assets, static files, logs, backups and build artifacts (encrypted,
// versioned, public access blocked, TLS only) and an encrypted EFS file
// system with a mount target in each private subnet and an access point.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
