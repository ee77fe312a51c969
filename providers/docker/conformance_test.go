package docker

import (
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/providertest"
)

// TestConformance runs the provider contract's suite against the engine with
// the real agent image, once per suspend mode: stop (docker stop, the
// filesystem stays) and suspend (docker pause, memory kept).
func TestConformance(t *testing.T) {
	needEngine(t)
	for _, mode := range []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend} {
		t.Run(string(mode), func(t *testing.T) {
			providertest.Run(t, func(t *testing.T) providers.Provider {
				return newTestProvider(t, testConfig())
			}, providertest.Options{
				Image:        env.agentImage,
				Offering:     providers.Offering{Zone: "engine-1", MachineType: "small"},
				Env:          agentEnv(1),
				Settings:     map[string]string{"cpus": "0.5", "memory": "128m"},
				SuspendMode:  mode,
				Owner:        newOwner(t),
				Timeout:      30 * time.Second,
				PollInterval: 50 * time.Millisecond,
			})
		})
	}
}
