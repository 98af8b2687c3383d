// Command compute-lambda is the compute-lambda stack of the AWS library:
// Lambda functions in the VPC with a dead-letter queue, an encrypted SQS
// work queue feeding one of them, an SNS topic, and a scheduled EventBridge
// rule.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
