package facts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// External loads the external facts of a facts.d folder the way Facter does:
//
//   - files are read in name order, and a later file's fact replaces an earlier
//     one of the same name; names starting with "." and folders are skipped;
//   - "*.txt": one key=value per line (lines without "=" are ignored; values
//     are strings, kept verbatim);
//   - "*.json": a JSON object; "*.yaml" (and "*.yml", which Facter itself
//     ignores): a YAML mapping, read with YAML 1.1 scalars as Ruby does
//     ("yes"/"on" are true, dates stay strings);
//   - any other executable file is run (LC_ALL=C, in its own process group,
//     killed after timeout); its stdout is read as a YAML mapping, or else as
//     key=value lines; a non-zero exit is logged and its output still used,
//     as Facter does; a timeout drops its facts;
//   - top-level fact names are lower-cased; values of JSON and YAML files keep
//     their types, nested maps and lists included.
//
// A file that cannot be read or parsed is logged with its path and the
// reason, and the other files still load. A missing folder gives no facts.
func External(ctx context.Context, dir string, timeout time.Duration, log *slog.Logger) map[string]any {
	out := map[string]any{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("reading external facts folder", "dir", dir, "err", err)
		}
		return out
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		facts, err := externalFile(ctx, path, timeout, log)
		if err != nil {
			log.Warn("skipping external facts file", "file", path, "err", err)
			continue
		}
		for k, v := range facts {
			out[strings.ToLower(k)] = v
		}
	}
	return out
}

// externalFile reads one facts.d entry; (nil, nil) means "not a facts file".
func externalFile(ctx context.Context, path string, timeout time.Duration, log *slog.Logger) (map[string]any, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		return parseKeyValues(string(b)), nil
	case ".json":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		return parseJSONFacts(b)
	case ".yaml", ".yml":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		return parseYAMLFacts(b)
	case ".bat", ".cmd", ".com", ".exe":
		return nil, nil
	}
	if info.Mode().Perm()&0o111 == 0 {
		return nil, nil
	}
	return runFactsExecutable(ctx, path, timeout, log)
}

var keyValueLine = regexp.MustCompile(`^(.+?)=(.+)$`)

// parseKeyValues reads key=value lines as Facter does: the key is up to the
// first "=", both sides kept verbatim; lines without a value are ignored.
func parseKeyValues(content string) map[string]any {
	out := map[string]any{}
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if m := keyValueLine.FindStringSubmatch(line); m != nil {
			out[m[1]] = m[2]
		}
	}
	return out
}

// parseJSONFacts reads a JSON object; integers stay integers.
func parseJSONFacts(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("parsing JSON: %w", err)
	}
	m, ok := normalizeJSON(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parsing JSON: top level is %s, want an object", jsonKind(v))
	}
	return m, nil
}

// normalizeJSON turns json.Number into int64 (or float64) throughout v.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeJSON(e)
		}
	}
	return v
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// runFactsExecutable runs an executable fact and parses its stdout.
func runFactsExecutable(ctx context.Context, path string, timeout time.Duration, log *slog.Logger) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("running %s: killed after %s: %w", path, timeout, ctx.Err())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		log.Warn("external facts executable wrote to stderr", "file", path, "stderr", s)
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		log.Warn("external facts executable exited non-zero; using its output", "file", path, "err", err)
	case err != nil:
		return nil, fmt.Errorf("running %s: %w", path, err)
	}
	if m, err := parseYAMLFacts(stdout.Bytes()); err == nil && len(m) > 0 {
		return m, nil
	}
	return parseKeyValues(stdout.String()), nil
}
