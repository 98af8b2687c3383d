//go:build !linux

package kit

import "os/exec"

// interruptOnDeath is Linux-only (a parent-death signal); elsewhere a CLI
// outlives a runner that was killed.
func interruptOnDeath(*exec.Cmd) {}
