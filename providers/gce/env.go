package gce

import (
	_ "embed"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// startupScript is set as every instance's startup-script metadata.
//
//go:embed startup.sh
var startupScript string

// envNameRE matches an environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// encodeEnv renders the agent's environment as the agentcloud-env metadata
// value: one KEY='value' line per variable, sorted, which both a systemd
// EnvironmentFile and a POSIX shell read. Single quotes take everything
// literally, so a value may hold any character but a single quote, a
// newline, a carriage return or NUL; those are refused.
func encodeEnv(env map[string]string) (string, error) {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v := env[k]
		if !envNameRE.MatchString(k) {
			return "", fmt.Errorf("env: %q is not a variable name", k)
		}
		if i := strings.IndexAny(v, "'\n\r\x00"); i >= 0 {
			return "", fmt.Errorf("env: the value of %s holds %q, which the agentcloud-env metadata cannot carry", k, v[i])
		}
		fmt.Fprintf(&b, "%s='%s'\n", k, v)
	}
	return b.String(), nil
}
