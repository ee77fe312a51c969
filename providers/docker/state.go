package docker

import (
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/agentcloud/agentcloud/providers"
)

// instanceOf maps a container and its newest marker (zero if it has none) to
// the Instance List reports:
//
//	container state        newest marker    instance
//	running                any              running
//	created                suspended        suspended
//	created, restarting    other or none    pending
//	paused, exited, dead   suspended        suspended (SuspendedAt = the marker's time)
//	paused, exited, dead   other or none    running, LabelState says why: a machine we
//	                                        did not suspend whose agent died or froze
//	removing               any              destroying
//
// StartedAt is the later of the creation time and the newest marker's time:
// the container was last started at its creation or at its last resume.
func instanceOf(c ctr, created time.Time, m marker) providers.Instance {
	labels := maps.Clone(c.labels)
	if labels == nil {
		labels = map[string]string{}
	}
	delete(labels, providers.LabelSuspendedAt) // only our marker says when
	labels[LabelState] = c.state
	in := providers.Instance{
		ID:           c.id,
		Name:         c.name,
		Owner:        labels[providers.LabelOwner],
		Installation: labels[providers.LabelInstallation],
		Pool:         labels[providers.LabelPool],
		CreatedAt:    created,
		StartedAt:    created,
		Offering:     providers.Offering{Zone: labels[LabelZone], MachineType: labels[LabelMachineType]},
		Labels:       labels,
	}
	if m.at.After(in.StartedAt) {
		in.StartedAt = m.at
	}
	suspended := m.kind == markSuspended
	switch container.ContainerState(c.state) {
	case container.StateRunning:
		in.State = providers.StateRunning
	case container.StateCreated:
		in.State = providers.StatePending
	case container.StateRestarting:
		in.State, suspended = providers.StatePending, false
	case container.StateRemoving:
		in.State, suspended = providers.StateDestroying, false
	default: // paused, exited, dead
		in.State = providers.StateRunning
	}
	if suspended && c.state != string(container.StateRunning) {
		in.State = providers.StateSuspended
		in.StartedAt = created
		in.SuspendedAt = m.at
		labels[providers.LabelSuspendedAt] = strconv.FormatInt(m.at.Unix(), 10)
	}
	return in
}

// ctrOfSummary reads a listed container.
func ctrOfSummary(s container.Summary) ctr {
	return ctr{id: s.ID, name: nameOf(s.Names), state: string(s.State), labels: s.Labels}
}

// ctrOfInspect reads an inspected container.
func ctrOfInspect(r container.InspectResponse) ctr {
	c := ctr{id: r.ID, name: strings.TrimPrefix(r.Name, "/")}
	if r.State != nil {
		c.state = string(r.State.Status)
	}
	if r.Config != nil {
		c.labels = r.Config.Labels
	}
	return c
}

// nameOf picks a container's own name from its listed names ("/name"; links
// add "/other/alias" forms).
func nameOf(names []string) string {
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if !strings.Contains(n, "/") {
			return n
		}
	}
	if len(names) > 0 {
		return strings.TrimPrefix(names[0], "/")
	}
	return ""
}

// createdOf parses an inspected container's creation time.
func createdOf(r container.InspectResponse) time.Time {
	t, err := time.Parse(time.RFC3339Nano, r.Created)
	if err != nil {
		return time.Time{}
	}
	return t
}
