package gce

import (
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/gce/gcefake"
	"github.com/agentcloud/agentcloud/providers/providertest"
)

// TestConformance runs the provider suite against the fake once per suspend mode.
func TestConformance(t *testing.T) {
	for _, mode := range []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend, SuspendDeleteKeepDisk} {
		t.Run(string(mode), func(t *testing.T) {
			e := newTestEnv(t, gcefake.Config{})
			providertest.Run(t, func(t *testing.T) providers.Provider {
				return e.provider()
			}, providertest.Options{
				Image:        testImage,
				Offering:     providers.Offering{Zone: "us-central1-b", MachineType: "e2-medium"},
				Env:          map[string]string{"AGENTCLOUD_BROKER_URL": "stomp://127.0.0.1:61613"},
				Settings:     map[string]string{"disk_size_gb": "20"},
				SuspendMode:  mode,
				Timeout:      10 * time.Second,
				PollInterval: 10 * time.Millisecond,
				UnknownID:    "us-central1-a/providertest-unknown-0",
			})
		})
	}
}
