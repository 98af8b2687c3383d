package main

import (
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

// TestTemplateFile keeps template.json, which the library's generated
// templates and docs are made from, in step with the template.
func TestTemplateFile(t *testing.T) { awstest.CheckTemplateFile(t, Stack) }
