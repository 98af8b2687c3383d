// Command demo-storage is the storage example stack as a binary of its own.
package main

import (
	"github.com/cloudplatform/cloud/stacks/examples"
	"github.com/cloudplatform/cloud/stacks/kit"
)

func main() { kit.Main(examples.All()["demo-storage"]) }
