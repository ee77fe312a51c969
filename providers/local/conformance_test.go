package local

import (
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providers.Provider {
		return newTestEnv(t).provider()
	}, providertest.Options{
		Image:        "local",
		Offering:     providers.Offering{Zone: "here"},
		SuspendMode:  providers.SuspendStop,
		Timeout:      20 * time.Second,
		PollInterval: 20 * time.Millisecond,
	})
}
