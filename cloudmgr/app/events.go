package app

import (
	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/cloudmgr/events"
	"github.com/agentcloud/agentcloud/master/broker"
)

// eventTargets lists the installations whose pool-change events cloudmgr
// subscribes to: those with `events` on (the default).
func eventTargets(cfg *config.Config) []events.Target {
	var out []events.Target
	for _, in := range cfg.Installations {
		if !in.Events.Enabled {
			continue
		}
		out = append(out, events.Target{
			Installation: in.Name,
			Prefix:       in.Agent.Prefix,
			Broker: broker.Config{
				URL:      in.Events.BrokerURL,
				Login:    in.Events.Login,
				Passcode: in.Events.Passcode,
				Name:     "cloudmgr-" + cfg.ID + "-events-" + in.Name,
			},
		})
	}
	return out
}
