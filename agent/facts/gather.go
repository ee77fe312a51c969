package facts

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"time"
)

// DefaultExecTimeout bounds an executable external fact.
const DefaultExecTimeout = 10 * time.Second

// Options says where and how to gather facts.
type Options struct {
	// FS is the filesystem that /etc, /proc and /sys are read from (paths
	// without the leading slash). Nil means the real root; tests pass fixtures.
	FS fs.FS
	// ExternalDir is the facts.d folder; empty means no external facts.
	ExternalDir string
	// ExecTimeout bounds each executable external fact (default DefaultExecTimeout).
	ExecTimeout time.Duration
	// Cloud probes the cloud metadata servers when non-nil.
	Cloud *CloudOptions
	// Log receives problems that do not stop gathering (a broken facts.d file).
	Log *slog.Logger
}

// Gather collects core facts, cloud facts (if configured) and external facts.
// A fact that cannot be read is left out; Gather itself does not fail.
func Gather(ctx context.Context, opts Options) map[string]any {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fsys := opts.FS
	if fsys == nil {
		fsys = os.DirFS("/")
	}

	var cloud map[string]any
	cloudDone := make(chan struct{})
	if opts.Cloud != nil {
		go func() {
			defer close(cloudDone)
			cloud = Cloud(ctx, *opts.Cloud)
		}()
	} else {
		close(cloudDone)
	}

	f := Core(fsys)
	<-cloudDone
	for k, v := range cloud {
		f[k] = v
	}
	if opts.ExternalDir != "" {
		timeout := opts.ExecTimeout
		if timeout <= 0 {
			timeout = DefaultExecTimeout
		}
		for k, v := range External(ctx, opts.ExternalDir, timeout, log) {
			f[k] = v
		}
	}
	return f
}

// Core gathers the core facts from fsys (the machine's root) and system calls.
func Core(fsys fs.FS) map[string]any {
	f := map[string]any{}
	u := readUname()
	osf := osFacts(fsys, u.machine)
	f["os"] = osf
	f["kernel"] = u.sysname
	f["kernelrelease"] = u.release
	f["kernelversion"] = kernelVersion(u.release)
	f["kernelmajversion"] = kernelMajVersion(u.release)
	if p := processorFacts(fsys); p != nil {
		f["processors"] = p
	}
	if m := memoryFacts(fsys); m != nil {
		f["memory"] = m
	}
	f["networking"] = networkingFacts(fsys)
	virt := virtualFacts(fsys)
	f["virtual"] = virt
	f["is_virtual"] = isVirtual(virt)
	if tz, _ := time.Now().Zone(); tz != "" {
		f["timezone"] = tz
	}
	if p := os.Getenv("PATH"); p != "" {
		f["path"] = p
	}
	if up, ok := uptimeFacts(fsys); ok {
		f["system_uptime"] = up
		f["uptime_seconds"] = up["seconds"]
	}
	if id := identityFacts(); id != nil {
		f["identity"] = id
	}
	return f
}

// SetAgentcloud adds agentcloud's own facts (agentcloud.pool,
// agentcloud.agent_id, agentcloud.instance) to f, replacing any of that name.
func SetAgentcloud(f map[string]any, pool, agentID, instance string) {
	ac := map[string]any{"pool": pool, "agent_id": agentID}
	if instance != "" {
		ac["instance"] = instance
	}
	f["agentcloud"] = ac
}

// readFile reads a file of fsys by its absolute path; errors give nil.
func readFile(fsys fs.FS, path string) []byte {
	b, err := fs.ReadFile(fsys, trimSlash(path))
	if err != nil {
		return nil
	}
	return b
}

// exists reports whether path exists in fsys.
func exists(fsys fs.FS, path string) bool {
	_, err := fs.Stat(fsys, trimSlash(path))
	return err == nil
}

func trimSlash(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	return p
}
