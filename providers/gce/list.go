package gce

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/agentcloud/agentcloud/providers"
)

// List returns every machine of the owner: its instances, and the boot disks
// kept by delete-keep-disk (as suspended machines). It costs two
// aggregatedList calls (disks, then instances, so a machine being resumed is
// never missed between the two) plus one per further page of 500, however
// many machines and zones there are. A zone the API reports unreachable
// fails the whole List (KindUnavailable): its machines would otherwise look
// gone.
func (p *Provider) List(ctx context.Context, owner string) ([]providers.Instance, error) {
	disks, du, err := p.api.listDisks(ctx, keptDiskFilter(owner))
	if err != nil {
		return nil, typed("list", "", fmt.Errorf("listing disks of %s: %w", owner, err))
	}
	insts, iu, err := p.api.listInstances(ctx, ownerFilter(owner))
	if err != nil {
		return nil, typed("list", "", fmt.Errorf("listing instances of %s: %w", owner, err))
	}
	if u := slices.Compact(slices.Sorted(slices.Values(append(du, iu...)))); len(u) > 0 {
		return nil, providers.Errorf(providers.KindUnavailable, "list", "", "listing machines of %s: the API could not reach %s; their machines cannot be listed", owner, strings.Join(u, ", "))
	}
	var out []providers.Instance
	seen := map[string]bool{}
	for _, gi := range insts {
		in := p.fromInstance(gi)
		if in.Owner != owner {
			continue // another owner whose label sanitises to the same value
		}
		seen[in.ID] = true
		out = append(out, in)
	}
	for _, d := range disks {
		in, ok := p.fromKeptDisk(d)
		if !ok || in.Owner != owner || seen[in.ID] {
			continue
		}
		seen[in.ID] = true
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b providers.Instance) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// mapStatus maps a GCE instance status to a state. A booting instance is
// resuming when our Resume started it (its resumed-at label is not older
// than its last start), pending otherwise.
func mapStatus(status string, resumedAt, lastStart time.Time) providers.State {
	switch status {
	case "PROVISIONING", "STAGING", "PENDING":
		if !resumedAt.IsZero() && !resumedAt.Before(lastStart) {
			return providers.StateResuming
		}
		return providers.StatePending
	case "REPAIRING":
		return providers.StatePending
	case "RUNNING":
		return providers.StateRunning
	case "STOPPING", "SUSPENDING", "PENDING_STOP", "DEPROVISIONING":
		return providers.StateSuspending
	case "TERMINATED", "STOPPED", "SUSPENDED":
		return providers.StateSuspended
	}
	return providers.StatePending // unknown: count it rather than over-provision
}

// fromInstance maps a GCE instance to an Instance.
func (p *Provider) fromInstance(gi *computepb.Instance) providers.Instance {
	zone := lastSegment(gi.GetZone())
	labels := maps.Clone(gi.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	meta := map[string]string{}
	for _, it := range gi.GetMetadata().GetItems() {
		switch it.GetKey() {
		case metaOwner, metaInstallation, metaPool:
			meta[it.GetKey()] = it.GetValue()
		}
	}
	in := providers.Instance{
		ID:       instanceID(zone, gi.GetName()),
		Name:     gi.GetName(),
		Offering: providers.Offering{Zone: zone, MachineType: lastSegment(gi.GetMachineType())},
	}
	identity(&in, labels, meta)

	created := apiTime(gi.GetCreationTimestamp())
	in.CreatedAt = created
	if t, ok := parseUnixMilliLabel(labels, LabelCreatedAt); ok {
		in.CreatedAt = t // survives a recreation by delete-keep-disk
	}
	lastStart := apiTime(gi.GetLastStartTimestamp())
	resumedAt, _ := parseUnixMilliLabel(labels, LabelResumedAt)
	in.StartedAt = latest(created, lastStart, resumedAt)
	in.State = mapStatus(gi.GetStatus(), resumedAt, lastStart)

	switch in.State {
	case providers.StateSuspended, providers.StateSuspending:
		at, ok := parseUnixLabel(labels, providers.LabelSuspendedAt)
		if !ok {
			// Suspended outside the provider: the API's own stop time.
			at = latest(apiTime(gi.GetLastStopTimestamp()), apiTime(gi.GetLastSuspendedTimestamp()))
			if !at.IsZero() {
				labels[providers.LabelSuspendedAt] = unixLabel(at)
			}
		}
		in.SuspendedAt = at
	default:
		delete(labels, providers.LabelSuspendedAt) // left over from a resume cut short
	}
	in.Labels = labels
	return in
}

// fromKeptDisk maps a boot disk kept by delete-keep-disk to a suspended
// machine; ok is false for any other disk (no owner or suspended-at label).
func (p *Provider) fromKeptDisk(d *computepb.Disk) (providers.Instance, bool) {
	labels := maps.Clone(d.GetLabels())
	if labels[providers.LabelOwner] == "" {
		return providers.Instance{}, false
	}
	suspendedAt, ok := parseUnixLabel(labels, providers.LabelSuspendedAt)
	if !ok {
		return providers.Instance{}, false
	}
	zone := lastSegment(d.GetZone())
	in := providers.Instance{
		ID:          instanceID(zone, d.GetName()),
		Name:        d.GetName(),
		State:       providers.StateSuspended,
		SuspendedAt: suspendedAt,
		Offering:    providers.Offering{Zone: zone},
	}
	meta := map[string]string{}
	if spec, err := decodeSpec(d.GetDescription()); err == nil {
		for _, it := range spec.instance.GetMetadata().GetItems() {
			switch it.GetKey() {
			case metaOwner, metaInstallation, metaPool:
				meta[it.GetKey()] = it.GetValue()
			}
		}
		in.Offering.MachineType = lastSegment(spec.instance.GetMachineType())
	}
	identity(&in, labels, meta)
	in.CreatedAt = apiTime(d.GetCreationTimestamp())
	if t, ok := parseUnixMilliLabel(labels, LabelCreatedAt); ok {
		in.CreatedAt = t
	}
	in.StartedAt = in.CreatedAt
	if d.GetStatus() == "DELETING" {
		in.State = providers.StateDestroying
	}
	in.Labels = labels
	return in, true
}

// identity fills owner, installation and pool from the exact metadata values
// (labels only hold them sanitised) and puts the exact values in labels.
func identity(in *providers.Instance, labels, meta map[string]string) {
	pick := func(key string) string {
		if v, ok := meta[key]; ok {
			return v
		}
		return labels[key]
	}
	in.Owner = pick(metaOwner)
	in.Installation = pick(metaInstallation)
	in.Pool = pick(metaPool)
	labels[providers.LabelOwner] = in.Owner
	labels[providers.LabelInstallation] = in.Installation
	labels[providers.LabelPool] = in.Pool
}

// apiTime parses an API timestamp; a missing or bad one is the zero time.
func apiTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// latest returns the latest of the times.
func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// lastSegment returns what follows the last slash of a URL or path.
func lastSegment(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }

// keys returns a set's keys, sorted.
func keys(set map[string]bool) []string { return slices.Sorted(maps.Keys(set)) }
