package runner

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel send SIGTERM to the runner when cloud
// dies, so a killed orchestrator does not leave Pulumi updates running with
// nobody recording them; the runner then stops the engine cleanly.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
