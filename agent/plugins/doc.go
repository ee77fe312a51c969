// Package plugins holds what an agent can run: the built-in shell plugin and
// external plugins from a plugins folder, with the checks of task fields.
//
// # Calling a plugin
//
// A composition task names its plugin and gives fields:
//
//	{"plugin": "shell", "fields": {"command": "make test", "timeout": "10m"}}
//	{"plugin": "hello", "fields": {"who": "ops"}}          // default task
//	{"plugin": "hello.wave", "fields": {"at": "bob"}}      // a named task
//
// Before a task runs, its fields are merged and checked (PrepareFields): for
// each field the task declares, the value is the task's own, else the
// composition context value of that name, else the declared default. An
// undeclared field, a missing required field or a value of the wrong type
// fails the task with an error naming the field; the program is not started.
//
// # Built-in shell
//
// Fields: command (string, run with /bin/sh -c) or args (list: program and
// arguments, no shell); env (map, added to the agent's environment); dir
// (string, relative to the agent's work dir, default the work dir); timeout
// (duration, e.g. "10m": the process group is killed when it passes).
//
// # External plugins
//
// Each subfolder of the plugins folder holding a manifest.yaml is a plugin:
//
//	name: hello                 # lower-case letters, digits, '-', '_'
//	version: 1.0.0
//	description: Greets someone.
//	command: hello.sh           # executable, relative to the plugin folder
//	default_task: greet         # optional; a single-task plugin's only task
//	tasks:
//	  - name: greet
//	    description: Prints a greeting.
//	    fields:
//	      - {name: who, type: string, required: false, default: world, description: whom to greet}
//
// Field types: string, int, bool, list, map, duration (a Go duration string).
// A plugin is callable as "<name>.<task>" for every task, and as "<name>"
// for its default task. A plugin whose manifest is invalid is not loaded
// (the agent logs why) and the others still are.
//
// The agent runs the command in its work dir, in a process group of its
// own, with the agent's environment plus AGENTCLOUD_CONTEXT (the composition
// context as JSON) and AGENTCLOUD_PLUGIN_DIR (the plugin's folder), and
// writes one JSON object on its stdin, then closes it:
//
//	{"context":{"version":"1.2"},"fields":{"who":"ops"},"task":"greet"}
//
// (compact, keys in that order: simple line-oriented plugins may rely on it).
//
// # What every task program may do (shell and external)
//
//   - Print output lines on stdout and stderr; each line is streamed to the
//     master as it comes (lines over 64 KiB are split).
//   - Publish composition context with a stdout line
//     `::context {"key": value, ...}` (a JSON object: any JSON values) or
//     `::context key=value` (one string value). These lines are not output.
//     Published keys replace the context's top-level keys of that name and
//     are seen by every later task. A malformed ::context line is reported on
//     stderr and otherwise ignored.
//   - Exit 0 for success. A non-zero exit fails the task with "exit status
//     N" and the composition stops there.
//
// When the task's timeout passes, or the attempt is cancelled or the agent
// stops past its shutdown grace, the whole process group gets SIGKILL.
// Processes a task leaves behind in its group when it exits are killed too.
package plugins
