package ec2

import (
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/providertest"
)

// unknownID is a well-formed instance id moto never hands out in a test.
const unknownID = "i-0123456789abcdef0"

// conformanceEnv is a typical agent environment, with no secrets.
var conformanceEnv = map[string]string{
	"AGENTCLOUD_BROKER_URL": "stomp://127.0.0.1:61613",
	"AGENTCLOUD_PREFIX":     "ac",
}

// TestConformance runs the provider suite against moto with mode stop, in an
// availability zone (the zone's default subnet).
func TestConformance(t *testing.T) {
	url := needMoto(t)
	ami := testAMI(t, rawClient(t, url, "us-east-1"))
	providertest.Run(t, func(t *testing.T) providers.Provider {
		return newTestProvider(t, testConfig(url), nil)
	}, providertest.Options{
		Image:        ami,
		Offering:     providers.Offering{Zone: "us-east-1b", MachineType: "t3.micro"},
		Env:          conformanceEnv,
		SuspendMode:  providers.SuspendStop,
		Timeout:      30 * time.Second,
		PollInterval: 20 * time.Millisecond,
		UnknownID:    unknownID,
	})
}

// TestConformanceHibernate runs the suite with mode suspend (hibernate), the
// pool launching with hibernation and an encrypted root volume, in a subnet
// named by the offering.
func TestConformanceHibernate(t *testing.T) {
	url := needMoto(t)
	raw := rawClient(t, url, "us-east-1")
	ami := testAMI(t, raw)
	subnet := subnetIn(t, raw, "us-east-1c")
	providertest.Run(t, func(t *testing.T) providers.Provider {
		return newTestProvider(t, testConfig(url), nil)
	}, providertest.Options{
		Image:        ami,
		Offering:     providers.Offering{Zone: subnet, MachineType: "m5.large"},
		Env:          conformanceEnv,
		Settings:     map[string]string{"hibernate": "true", "root_volume_size": "16"},
		SuspendMode:  providers.SuspendSuspend,
		Timeout:      30 * time.Second,
		PollInterval: 20 * time.Millisecond,
		UnknownID:    unknownID,
	})
}
