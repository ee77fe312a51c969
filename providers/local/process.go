package local

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// killWait bounds the wait for a process group to vanish after SIGKILL.
const killWait = 5 * time.Second

// start starts the agent of r in its instance dir, in its own process group,
// and sets r.PID and r.PIDStart. A goroutine reaps the process when it exits.
func (p *Provider) start(r *record) error {
	dir := p.instanceDir(r.Name)
	work := filepath.Join(dir, workDir)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fmt.Errorf("creating the work dir: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening the agent log: %w", err)
	}
	defer logf.Close() // the child has its own copy of the descriptor

	if pid, start, ok := orphanLeader(work); ok {
		// Started before a crash of this program, never recorded: adopt it
		// rather than start a second agent under the same id.
		r.PID, r.PIDStart = pid, start
		p.log.Warn("adopted an agent running without a record", "instance", r.Name, "pid", pid)
		return nil
	}

	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Dir = work
	cmd.Env = p.env(r, work)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the agent %s: %w", p.cfg.Command[0], err)
	}
	pid := cmd.Process.Pid
	var startTime uint64 // 0 if it exited and was reaped already: the record shows it dead
	if s, err := procStat(pid); err == nil {
		startTime = s.start
	}
	go p.reap(r.Name, pid, cmd)
	r.PID, r.PIDStart = pid, startTime
	p.log.Info("started agent", "instance", r.Name, "pid", pid)
	return nil
}

// reap waits for a started process so it never lingers as a zombie. After a
// restart of this program the agents are reparented and reaped by init.
func (p *Provider) reap(name string, pid int, cmd *exec.Cmd) {
	err := cmd.Wait()
	status := "exit 0"
	if err != nil {
		status = err.Error()
	}
	p.log.Info("agent exited", "instance", name, "pid", pid, "status", status)
}

// env builds the agent's clean environment: PATH and HOME from this process,
// then the request's Env, the config's Env, and the instance's own variables.
func (p *Provider) env(r *record, work string) []string {
	m := map[string]string{}
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			m[k] = v
		}
	}
	maps.Copy(m, r.Env)
	maps.Copy(m, p.cfg.Env)
	m["AGENTCLOUD_AGENT_ID"] = r.Name
	m["AGENTCLOUD_INSTANCE"] = r.Name
	m["AGENTCLOUD_WORK_DIR"] = work
	env := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		env = append(env, k+"="+m[k])
	}
	return env
}

// stop stops the agent of r if it is still the process r names, or else an
// unrecorded agent leading its group in r's work dir: SIGTERM to its process
// group, up to StopGrace (or until ctx ends) for the group to exit, then
// SIGKILL. A dead leader or a reused pid is left alone.
func (p *Provider) stop(ctx context.Context, r *record) error {
	pgid := r.PID
	if !alive(r.PID, r.PIDStart) {
		// An agent the record does not name may still run in the work dir.
		orphan, _, ok := orphanLeader(filepath.Join(p.instanceDir(r.Name), workDir))
		if !ok {
			return nil
		}
		pgid = orphan
	}
	log := p.log.With("instance", r.Name, "pid", pgid)
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending SIGTERM to process group %d: %w", pgid, err)
	}
	if waitGroupGone(ctx, pgid, p.cfg.StopGrace) {
		log.Info("stopped agent")
		return nil
	}
	log.Warn("agent did not stop in time; killing it", "grace", p.cfg.StopGrace)
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending SIGKILL to process group %d: %w", pgid, err)
	}
	if waitGroupGone(context.Background(), pgid, killWait) {
		return nil
	}
	return fmt.Errorf("process group %d still exists %s after SIGKILL", pgid, killWait)
}

// waitGroupGone polls until no live process of the group is left, for up to d
// or until ctx ends, and reports whether the group is gone.
func waitGroupGone(ctx context.Context, pgid int, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if !groupAlive(pgid) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
}
