package docker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

// List returns every container labelled with owner, in two API calls whatever
// their number: ContainerList (all states) and VolumeList (the markers), both
// filtered by the owner label on the engine. Results are sorted by creation
// time, then name. Marker volumes whose container is gone are removed on the
// way (a few more calls, only when there are such leftovers).
func (p *Provider) List(ctx context.Context, owner string) ([]providers.Instance, error) {
	start := p.now()
	byOwner := providers.LabelOwner + "=" + owner
	cs, err := p.eng.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", byOwner),
	})
	if err != nil {
		return nil, fmt.Errorf("listing the containers of owner %s: %w", owner, classify("list", "", err))
	}
	vs, err := p.eng.VolumeList(ctx, client.VolumeListOptions{
		Filters: make(client.Filters).Add("label", byOwner, LabelMarker),
	})
	if err != nil {
		return nil, fmt.Errorf("listing the marker volumes of owner %s: %w", owner, classify("list", "", err))
	}
	markers := map[string][]marker{}
	for _, v := range vs.Items {
		if m, ok := markerOf(v); ok {
			markers[m.container] = append(markers[m.container], m)
		}
	}
	out := make([]providers.Instance, 0, len(cs.Items))
	for _, s := range cs.Items {
		if s.Labels[providers.LabelOwner] != owner {
			continue // the engine filtered; this guards against a lax one
		}
		out = append(out, instanceOf(ctrOfSummary(s), time.Unix(s.Created, 0), newest(markers[s.ID])))
		delete(markers, s.ID)
	}
	slices.SortFunc(out, func(a, b providers.Instance) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	p.removeOrphans(ctx, markers, start)
	return out, nil
}

// removeOrphans removes the markers (left in byContainer once the listed
// containers are taken out) whose container is gone: made well before the
// List call started, so their container existed then and was not listed.
func (p *Provider) removeOrphans(ctx context.Context, byContainer map[string][]marker, listStart time.Time) {
	for id, ms := range byContainer {
		var old []marker
		for _, m := range ms {
			if m.at.Before(listStart.Add(-orphanGrace)) {
				old = append(old, m)
			}
		}
		if len(old) == 0 {
			continue
		}
		if err := p.removeMarkers(ctx, old, ""); err != nil {
			p.log.Warn("could not remove the marker volumes of a removed container", "container", id, "err", err)
			continue
		}
		p.log.Info("removed the marker volumes of a removed container", "container", id, "volumes", len(old))
	}
}
