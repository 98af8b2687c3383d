// Package proc tells whether a process recorded as the owner of something
// (an operation, a Pulumi engine lock) is still alive on this host, telling
// a reused pid from the original process by its start time.
package proc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Start reads the start time of process pid: field 22 of /proc/<pid>/stat,
// in clock ticks since boot. exists is false if the process is gone or is
// a zombie; err is set when /proc cannot answer (e.g. not Linux).
func Start(pid int) (start string, exists bool, err error) {
	fields, err := statFields(pid)
	if errors.Is(err, fs.ErrNotExist) {
		if _, statErr := os.Stat("/proc/self/stat"); statErr == nil {
			return "", false, nil // /proc works: the process is gone
		}
	}
	if err != nil {
		return "", false, err
	}
	if state := fields[0]; state == "Z" || state == "X" {
		return "", false, nil
	}
	return fields[19], true, nil
}

// Parent returns the parent pid of process pid, from /proc/<pid>/stat.
func Parent(pid int) (int, error) {
	fields, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(fields[1])
}

// statFields are the fields of /proc/<pid>/stat from the third on (the
// process state), the command name (in parentheses, perhaps with spaces)
// skipped.
func statFields(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return nil, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return fields, nil
}

// Gone reports whether the process pid, started at start (as Start reads
// it; "" when unknown), has exited: no process has that pid, or it is a
// zombie, or the pid now belongs to a process started at another time.
// An unknown pid (0 or less) is never gone: its owner cannot be told.
func Gone(pid int, start string) bool {
	if pid <= 0 {
		return false
	}
	cur, exists, err := Start(pid)
	if err != nil {
		// No /proc: fall back to signal 0, without pid-reuse detection.
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	if !exists {
		return true
	}
	return start != "" && cur != start
}

// clockTicks is USER_HZ, the unit of /proc's start times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// GoneSince reports whether the process pid that was alive at t has
// exited: no process has that pid, or the one that has it started after t
// (the pid was reused). t comes from another program's record (a Pulumi
// lock's timestamp), so a process started up to a second after t still
// counts as the same one. Without /proc a live pid is never gone.
func GoneSince(pid int, t time.Time) bool {
	if pid <= 0 {
		return false
	}
	start, exists, err := Start(pid)
	if err != nil {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	if !exists {
		return true
	}
	boot, err := bootTime()
	ticks, perr := strconv.ParseInt(start, 10, 64)
	if err != nil || perr != nil {
		return false
	}
	started := boot.Add(time.Duration(ticks) * time.Second / clockTicks)
	return started.After(t.Add(time.Second))
}

// bootTime is when the host booted (btime in /proc/stat).
func bootTime() (time.Time, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, err
			}
			return time.Unix(sec, 0), nil
		}
	}
	return time.Time{}, errors.New("no btime in /proc/stat")
}
