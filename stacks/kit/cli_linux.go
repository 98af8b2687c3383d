package kit

import (
	"os/exec"
	"syscall"
)

// interruptOnDeath has the kernel interrupt the Pulumi CLI when the process
// that started it dies (a runner killed, or cloud itself when it serves a
// project stack): the engine then stops as on Ctrl-C, writing its
// checkpoint and releasing the stack's lock, instead of running on with
// nobody recording it.
func interruptOnDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
}
