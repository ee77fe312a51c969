package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// ShellName is the built-in shell plugin's name.
const ShellName = "shell"

// ContextEnv is the environment variable through which shell tasks (and
// external plugins) see the composition context, as a JSON object.
const ContextEnv = "AGENTCLOUD_CONTEXT"

// Shell is the built-in shell plugin: it runs `command` with /bin/sh -c, or
// `args` directly, with `env` added to the agent's environment, in `dir`
// (relative to the work dir; default the work dir), killing its process
// group after `timeout`. Stdout lines "::context key=value" or
// "::context {json}" publish context.
type Shell struct{}

// Spec declares the shell fields.
func (Shell) Spec() TaskSpec {
	return TaskSpec{
		Name:        ShellName,
		Description: "Runs a command with /bin/sh -c, or a program with arguments.",
		Fields: []FieldSpec{
			{Name: "command", Type: TypeString, Description: "shell command line, run with /bin/sh -c"},
			{Name: "args", Type: TypeList, Description: "program and arguments, run without a shell"},
			{Name: "env", Type: TypeMap, Description: "environment variables added to the agent's"},
			{Name: "dir", Type: TypeString, Description: "working dir, relative to the agent's work dir"},
			{Name: "timeout", Type: TypeDuration, Description: "kill the command's process group after this long"},
		},
	}
}

// Run runs the command.
func (Shell) Run(ctx context.Context, call Call, ev Events) error {
	cmd, err := shellCommand(call)
	if err != nil {
		return err
	}
	var timeout time.Duration
	if s, ok := call.Fields["timeout"].(string); ok {
		timeout, _ = time.ParseDuration(s) // checked by PrepareFields
	}
	return runProcess(ctx, cmd, nil, timeout, ev)
}

// shellCommand builds the command of a shell task.
func shellCommand(call Call) (*exec.Cmd, error) {
	command, hasCommand := call.Fields["command"].(string)
	args, hasArgs := call.Fields["args"].([]any)
	var cmd *exec.Cmd
	switch {
	case hasCommand && hasArgs:
		return nil, fmt.Errorf("fields \"command\" and \"args\": give one, not both")
	case hasCommand:
		if command == "" {
			return nil, fmt.Errorf("field \"command\": empty")
		}
		cmd = exec.Command("/bin/sh", "-c", command)
	case hasArgs:
		if len(args) == 0 {
			return nil, fmt.Errorf("field \"args\": empty list")
		}
		argv := make([]string, len(args))
		for i, a := range args {
			s, err := scalarString(a)
			if err != nil {
				return nil, fmt.Errorf("field \"args\": item %d: %w", i, err)
			}
			argv[i] = s
		}
		cmd = exec.Command(argv[0], argv[1:]...)
		if cmd.Err != nil {
			return nil, fmt.Errorf("field \"args\": program %q: %w", argv[0], cmd.Err)
		}
	default:
		return nil, fmt.Errorf("field \"command\" or \"args\": one is required")
	}

	dir, err := taskDir(call)
	if err != nil {
		return nil, err
	}
	cmd.Dir = dir
	env, err := taskEnv(call)
	if err != nil {
		return nil, err
	}
	cmd.Env = env
	return cmd, nil
}

// taskDir resolves the "dir" field against the work dir and checks it exists.
func taskDir(call Call) (string, error) {
	dir := call.WorkDir
	if d, ok := call.Fields["dir"].(string); ok && d != "" {
		if filepath.IsAbs(d) {
			dir = d
		} else {
			dir = filepath.Join(call.WorkDir, d)
		}
		st, err := os.Stat(dir)
		if err != nil {
			return "", fmt.Errorf("field \"dir\": %w", err)
		}
		if !st.IsDir() {
			return "", fmt.Errorf("field \"dir\": %s is not a directory", dir)
		}
	}
	return dir, nil
}

// taskEnv is the agent's environment, plus AGENTCLOUD_CONTEXT, plus the
// "env" field (sorted, so later duplicates are deterministic).
func taskEnv(call Call) ([]string, error) {
	env := os.Environ()
	ctxJSON, err := json.Marshal(call.Context)
	if err != nil {
		return nil, fmt.Errorf("encoding context for %s: %w", ContextEnv, err)
	}
	env = append(env, ContextEnv+"="+string(ctxJSON))
	extra, _ := call.Fields["env"].(map[string]any)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" {
			return nil, fmt.Errorf("field \"env\": empty variable name")
		}
		v, err := scalarString(extra[k])
		if err != nil {
			return nil, fmt.Errorf("field \"env\": %s: %w", k, err)
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

// scalarString formats a string, number or bool as text.
func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("want a string, number or bool, got %s", describe(v))
}
