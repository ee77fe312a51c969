// Command fakeagent stands in for the agent in the local provider's tests. On
// start it appends "started" to boot.log in its work dir and writes its
// environment and working dir to env.txt; then it sleeps until SIGTERM.
//
// Environment knobs: FAKEAGENT_PIDS_FILE (append the pid there),
// FAKEAGENT_EXIT=1 (exit at once, as a crashed agent), FAKEAGENT_IGNORE_TERM=1
// (ignore SIGTERM, so only SIGKILL stops it), FAKEAGENT_CHILD=1 (start a second
// fakeagent in the same process group and write its pid to child.pid).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeagent:", err)
		os.Exit(1)
	}
}

func run() error {
	if f := os.Getenv("FAKEAGENT_PIDS_FILE"); f != "" {
		if err := appendFile(f, strconv.Itoa(os.Getpid())+"\n"); err != nil {
			return err
		}
	}
	term := make(chan os.Signal, 1)
	if os.Getenv("FAKEAGENT_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(term, syscall.SIGTERM)
	}
	if os.Getenv("FAKEAGENT_ROLE") == "child" {
		<-term
		fmt.Println("fakeagent child stopping on SIGTERM")
		return nil
	}

	work := os.Getenv("AGENTCLOUD_WORK_DIR")
	if err := appendFile(filepath.Join(work, "boot.log"), "started\n"); err != nil {
		return err
	}
	cwd, _ := os.Getwd()
	env := slices.Sorted(slices.Values(os.Environ()))
	if err := os.WriteFile(filepath.Join(work, "env.txt"), []byte("CWD="+cwd+"\n"+strings.Join(env, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Println("fakeagent started on stdout")
	fmt.Fprintln(os.Stderr, "fakeagent started on stderr")

	if os.Getenv("FAKEAGENT_EXIT") == "1" {
		return nil
	}
	if os.Getenv("FAKEAGENT_CHILD") == "1" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		c := exec.Command(exe)
		c.Env = append(os.Environ(), "FAKEAGENT_ROLE=child")
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		if err := c.Start(); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, "child.pid"), []byte(strconv.Itoa(c.Process.Pid)), 0o600); err != nil {
			return err
		}
		go func() { _ = c.Wait() }()
	}
	<-term
	fmt.Println("fakeagent stopping on SIGTERM")
	return nil
}

func appendFile(name, s string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
