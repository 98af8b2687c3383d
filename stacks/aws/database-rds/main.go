// Command database-rds is the database-rds stack of the AWS library: an
// encrypted, private PostgreSQL RDS instance (optionally Multi-AZ, with an
// optional read replica) with its subnet group, parameter group, enhanced
// monitoring role and CloudWatch alarms. The master credentials come from
// the secrets stack's database master secret.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
