package docker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

// Marker volumes keep the times Docker does not let us write on a container.
//
// A container's labels are fixed when it is created, and the times the engine
// keeps (State.StartedAt, State.FinishedAt) come only from inspecting each
// container, one call per instance. So every suspend and every resume first
// creates an empty local volume, labelled with the container's id, the event
// (suspended or resumed), its time, and the container's owner, installation
// and pool; the container's older markers are then removed. List reads all the
// markers of an owner with one VolumeList call next to its one ContainerList,
// and takes each container's newest marker:
//
//   - suspended: the container is suspended (if it is not running), since then;
//   - resumed: it was last started then (StartedAt, for boot_timeout).
//
// Markers live on the engine next to their containers, so a restarted
// cloudmgr (or another host's) sees the same state. A marker whose container
// is gone (removed by hand) is removed by List.

// markerKind is the event a marker records.
type markerKind string

// Marker kinds.
const (
	markSuspended markerKind = "suspended"
	markResumed   markerKind = "resumed"
)

// orphanGrace is how old a marker must be before List removes it for having no
// container: a marker is created only for a container that exists, so one
// older than the List call whose container is not listed belongs to a removed
// container; the grace covers clock steps.
const orphanGrace = time.Minute

// marker is one marker volume.
type marker struct {
	volume    string // the volume's name
	container string // the container's id
	kind      markerKind
	at        time.Time
}

// markerOf reads a marker from a volume; ok is false if the volume is not one.
func markerOf(v volume.Volume) (m marker, ok bool) {
	kind := markerKind(v.Labels[LabelMarker])
	if kind != markSuspended && kind != markResumed {
		return marker{}, false
	}
	ns, err := strconv.ParseInt(v.Labels[LabelMarkerAt], 10, 64)
	if err != nil || v.Labels[LabelContainer] == "" {
		return marker{}, false
	}
	return marker{volume: v.Name, container: v.Labels[LabelContainer], kind: kind, at: time.Unix(0, ns)}, true
}

// newest returns the most recent of ms (zero if ms is empty).
func newest(ms []marker) marker {
	var out marker
	for _, m := range ms {
		if out.volume == "" || m.at.After(out.at) || (m.at.Equal(out.at) && m.volume > out.volume) {
			out = m
		}
	}
	return out
}

// ctr is what the provider needs to know of one container.
type ctr struct {
	id     string
	name   string
	state  string
	labels map[string]string
}

// addMarker records kind for c now, as a new volume.
func (p *Provider) addMarker(ctx context.Context, c ctr, kind markerKind) (marker, error) {
	at := p.now()
	m := marker{
		volume:    fmt.Sprintf("%s.%s.%d", c.name, kind, at.UnixNano()),
		container: c.id,
		kind:      kind,
		at:        at,
	}
	labels := withLabels(identityLabels(c.labels), map[string]string{
		LabelMarker:    string(kind),
		LabelContainer: c.id,
		LabelMarkerAt:  strconv.FormatInt(at.UnixNano(), 10),
	})
	if kind == markSuspended {
		labels[providers.LabelSuspendedAt] = strconv.FormatInt(at.Unix(), 10)
	}
	if _, err := p.eng.VolumeCreate(ctx, client.VolumeCreateOptions{Name: m.volume, Driver: "local", Labels: labels}); err != nil {
		return marker{}, fmt.Errorf("recording the %s time in marker volume %s: %w", kind, m.volume, err)
	}
	return m, nil
}

// markersOf lists the markers of one container.
func (p *Provider) markersOf(ctx context.Context, containerID string) ([]marker, error) {
	res, err := p.eng.VolumeList(ctx, client.VolumeListOptions{
		Filters: make(client.Filters).Add("label", LabelContainer+"="+containerID),
	})
	if err != nil {
		return nil, fmt.Errorf("listing the marker volumes of container %s: %w", containerID, err)
	}
	var out []marker
	for _, v := range res.Items {
		if m, ok := markerOf(v); ok && m.container == containerID {
			out = append(out, m)
		}
	}
	return out, nil
}

// removeMarkers removes the markers of ms except the one named keep; an
// already removed one is fine.
func (p *Provider) removeMarkers(ctx context.Context, ms []marker, keep string) error {
	var errs []error
	for _, m := range ms {
		if m.volume == keep {
			continue
		}
		if _, err := p.eng.VolumeRemove(ctx, m.volume, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing marker volume %s: %w", m.volume, err))
		}
	}
	return errors.Join(errs...)
}

// dropOldMarkers removes c's markers other than keep, logging failures: a
// leftover older marker is harmless (List takes the newest) and the next
// suspend, resume or destroy tries again.
func (p *Provider) dropOldMarkers(ctx context.Context, c ctr, old []marker, keep string) {
	if err := p.removeMarkers(ctx, old, keep); err != nil {
		p.log.Warn("could not remove old marker volumes", "container", c.name, "err", err)
	}
}
