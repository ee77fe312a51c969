// Package providertest is the conformance suite every providers.Provider runs
// (fake and local now; docker, ec2 and gce later). It checks the contract of
// DESIGN.md §4.1 from the outside, through List, the way cloudmgr sees a cloud:
// labels and fields, idempotent create by name, suspend and resume, destroy of
// something already gone, typed not-found errors and partial batch failures.
package providertest

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Options tune the suite for one provider.
type Options struct {
	// Image is the image or template every test instance is created from.
	Image string
	// Offering is where test instances are created; zero means the provider's default.
	// Its non-empty fields must come back on the listed instances.
	Offering providers.Offering
	// Env is handed to every created instance (CreateRequest.Env).
	Env map[string]string
	// Settings are provider-specific pool settings (CreateRequest.Settings).
	Settings map[string]string
	// SuspendMode is the suspend mode to exercise. "" or providers.SuspendNone skips
	// the cases that need suspend and resume; any other mode must be in the
	// provider's Capabilities.
	SuspendMode providers.SuspendMode
	// Timeout bounds every call and every wait for a state change seen through List
	// (default 60s).
	Timeout time.Duration
	// PollInterval is the pause between two List calls while waiting (default 50ms).
	PollInterval time.Duration
	// UnknownID is an instance id the provider has never seen, well-formed for it
	// (default "providertest-unknown-0").
	UnknownID string
	// Owner is the owner label of every test instance; default a random
	// "providertest-<hex>" so runs against a shared backend do not see each other.
	Owner string
	// Installation labels every test instance (default "providertest").
	Installation string
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	if o.UnknownID == "" {
		o.UnknownID = "providertest-unknown-0"
	}
	if o.Owner == "" {
		o.Owner = "providertest-" + randomHex(4)
	}
	if o.Installation == "" {
		o.Installation = "providertest"
	}
	return o
}

// suspends reports whether the suspend and resume cases run.
func (o Options) suspends() bool {
	return o.SuspendMode != "" && o.SuspendMode != providers.SuspendNone
}

// randomHex returns n random bytes as lowercase hex, valid in any cloud's names.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
