// Command services-eks is the services-eks stack of the AWS library: an
// EKS cluster with encrypted secrets and control-plane logs, its OIDC
// provider, on-demand and spot managed node groups on hardened launch
// templates, and the core add-ons.
package main

import "github.com/cloudplatform/cloud/stacks/kit"

func main() { kit.Main(Stack) }
