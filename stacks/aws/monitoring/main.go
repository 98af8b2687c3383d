// Command monitoring is the monitoring stack of the AWS library: an
// encrypted SNS alert topic with an email subscription, CloudWatch alarms
// on the load balancer, the ECS cluster and services and the database, log
// metric filters on application log groups, and a dashboard.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
