package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// stat is what the provider reads from /proc/<pid>/stat.
type stat struct {
	state byte   // field 3: R, S, D, Z (zombie), X (dead), ...
	pgrp  int    // field 5: process group
	start uint64 // field 22: start time in clock ticks after boot
}

// dead reports whether the process has exited (a zombie waits only to be reaped).
func (s stat) dead() bool { return s.state == 'Z' || s.state == 'X' }

// procStat reads /proc/<pid>/stat.
func procStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	return parseStat(b)
}

// parseStat parses the text of /proc/<pid>/stat. The command name (field 2)
// is in parentheses and may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("proc stat: no command name")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3
	field := func(n int) []byte { return f[n-3] }
	if len(f) < 22-2 || len(f[0]) != 1 {
		return stat{}, fmt.Errorf("proc stat: %d fields after the command name, want at least 20", len(f))
	}
	pgrp, err := strconv.Atoi(string(field(5)))
	if err != nil {
		return stat{}, fmt.Errorf("proc stat: process group: %w", err)
	}
	start, err := strconv.ParseUint(string(field(22)), 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("proc stat: start time: %w", err)
	}
	return stat{state: f[0][0], pgrp: pgrp, start: start}, nil
}

// alive reports whether pid is a live (not zombie) process started at start,
// i.e. still the process the record names and not a reused pid.
func alive(pid int, start uint64) bool {
	if pid <= 0 || start == 0 {
		return false
	}
	s, err := procStat(pid)
	return err == nil && s.start == start && !s.dead()
}

// groupAlive reports whether any live process is left in process group pgid.
// Zombies do not count: where the reparenting init does not reap orphans they
// would linger for ever.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := procStat(pid); err == nil && s.pgrp == pgid && !s.dead() {
			return true
		}
	}
	return false
}

// orphanLeader finds a live process-group leader whose working directory is
// dir: an agent this provider started but whose pid never reached its record,
// because the program was killed between the start and the record's write.
// Agents start in their instance's work dir and lead their own group, so this
// names them without trusting any pid.
func orphanLeader(dir string) (pid int, start uint64, ok bool) {
	want, err := filepath.Abs(dir)
	if err != nil {
		return 0, 0, false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd")
		if err != nil || cwd != want {
			continue
		}
		if s, err := procStat(pid); err == nil && s.pgrp == pid && !s.dead() {
			return pid, s.start, true
		}
	}
	return 0, 0, false
}
