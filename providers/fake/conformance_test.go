package fake_test

import (
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/fake"
	"github.com/agentcloud/agentcloud/providers/providertest"
)

func TestConformance(t *testing.T) {
	opts := providertest.Options{Image: "img", SuspendMode: providers.SuspendStop, Timeout: 10 * time.Second}
	t.Run("instant", func(t *testing.T) {
		providertest.Run(t, func(t *testing.T) providers.Provider { return fake.New("fake") }, opts)
	})
	t.Run("with latencies on the wall clock", func(t *testing.T) {
		lat := fake.Latencies{Create: 5 * time.Millisecond, Boot: 20 * time.Millisecond, Suspend: 20 * time.Millisecond,
			Resume: 20 * time.Millisecond, Destroy: 20 * time.Millisecond}
		providertest.Run(t, func(t *testing.T) providers.Provider { return fake.New("fake", fake.WithLatencies(lat)) }, opts)
	})
	t.Run("stop only, with an offering", func(t *testing.T) {
		caps := providers.Capabilities{SuspendModes: []providers.SuspendMode{providers.SuspendStop}}
		o := opts
		o.Offering = providers.Offering{Zone: "zone-b", MachineType: "large"}
		providertest.Run(t, func(t *testing.T) providers.Provider { return fake.New("fake", fake.WithCapabilities(caps)) }, o)
	})
	t.Run("no suspend", func(t *testing.T) {
		o := opts
		o.SuspendMode = providers.SuspendNone
		providertest.Run(t, func(t *testing.T) providers.Provider {
			return fake.New("fake", fake.WithCapabilities(providers.Capabilities{}))
		}, o)
	})
}
