package docker

import (
	"maps"

	"github.com/agentcloud/agentcloud/providers"
)

// Labels the Docker provider sets or reports besides the §4.1 ones.
const (
	// LabelState is set on every listed instance: the container's own state
	// (created, running, paused, restarting, removing, exited, dead). A container
	// that exited or was paused without the provider suspending it is listed as
	// running (the machine exists; its agent is gone or frozen) with this label
	// saying so, the way the local provider reports a dead agent.
	LabelState = "agentcloud-docker-state"
	// LabelZone and LabelMachineType keep the request's offering on the
	// container, so List reports it back; Docker itself ignores them.
	LabelZone        = "agentcloud-zone"
	LabelMachineType = "agentcloud-machine-type"
	// LabelName is set on the anonymous volumes of a container: its name.
	LabelName = "agentcloud-docker-name"
	// LabelMarker is set on marker volumes: "suspended" or "resumed".
	LabelMarker = "agentcloud-docker-marker"
	// LabelContainer is set on marker volumes: the id of their container.
	LabelContainer = "agentcloud-docker-container"
	// LabelMarkerAt is set on marker volumes: the event's time, Unix nanoseconds.
	LabelMarkerAt = "agentcloud-docker-at"
)

// containerLabels returns the labels a container created for req carries.
func containerLabels(req providers.CreateRequest) map[string]string {
	l := req.Labels()
	if req.Offering.Zone != "" {
		l[LabelZone] = req.Offering.Zone
	}
	if req.Offering.MachineType != "" {
		l[LabelMachineType] = req.Offering.MachineType
	}
	return l
}

// identityLabels returns the owner, installation and pool labels of labels,
// the ones every object belonging to a container copies.
func identityLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{providers.LabelOwner, providers.LabelInstallation, providers.LabelPool} {
		if v, ok := labels[k]; ok {
			out[k] = v
		}
	}
	return out
}

// withLabels returns a copy of base with extra added.
func withLabels(base map[string]string, extra map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, extra)
	return out
}
