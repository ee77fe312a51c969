package config

import (
	"strconv"

	"github.com/agentcloud/agentcloud/policies"
)

// Problem is one thing wrong with the config file: where ("file:line"), which
// field (its YAML path, "installations[0].token_env"), and why. It is the
// policies' problem type, so config and policy problems print alike.
type Problem = policies.Problem

// Problems is every problem found at once; Load returns it as its error, in
// file order.
type Problems = policies.Problems

// source renders "file:line", or "file" for line 0.
func source(file string, line int) string {
	if line <= 0 {
		return file
	}
	return file + ":" + strconv.Itoa(line)
}
