package docker

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/agentcloud/agentcloud/providers"
)

// Suspend stops (mode stop: the filesystem stays, the processes end) or pauses
// (mode suspend: the processes are frozen and keep their memory) the
// containers, after recording the time in a marker volume. Suspending a
// container already suspended succeeds; so does suspending one that exited on
// its own (it is marked suspended, its filesystem kept).
func (p *Provider) Suspend(ctx context.Context, mode providers.SuspendMode, ids []string) ([]string, error) {
	return providers.Batch(ctx, "suspending", ids, providers.DefaultParallel, func(id string) error {
		if mode != providers.SuspendStop && mode != providers.SuspendSuspend {
			return providers.Errorf(providers.KindNotSupported, "suspend", id, "suspend mode %q is not supported by the docker provider (stop, suspend)", mode)
		}
		defer p.lock(id)()
		c, err := p.inspectOurs(ctx, "suspend", id)
		if err != nil {
			return err
		}
		old, err := p.markersOf(ctx, c.id)
		if err != nil {
			return classify("suspend", id, err)
		}
		last := newest(old)
		switch container.ContainerState(c.state) {
		case container.StateRemoving:
			return providers.Errorf(providers.KindNotFound, "suspend", id, "the container is being removed")
		case container.StateRunning, container.StateRestarting:
		case container.StatePaused:
			if last.kind == markSuspended && mode == providers.SuspendSuspend {
				return nil
			}
		default: // created, exited, dead: nothing runs, the filesystem stays
			if last.kind == markSuspended {
				return nil
			}
		}
		m, err := p.addMarker(ctx, c, markSuspended)
		if err != nil {
			return classify("suspend", id, err)
		}
		if err := p.halt(ctx, mode, c); err != nil {
			p.undoMarker(ctx, c, m)
			return classify("suspend", id, err)
		}
		p.dropOldMarkers(ctx, c, old, m.volume)
		p.log.Info("suspended instance", "instance", c.name, "id", shortID(c.id), "mode", mode, "was", c.state)
		return nil
	})
}

// halt stops or pauses a container for Suspend.
func (p *Provider) halt(ctx context.Context, mode providers.SuspendMode, c ctr) error {
	running := c.state == string(container.StateRunning) || c.state == string(container.StateRestarting)
	switch {
	case mode == providers.SuspendSuspend && c.state == string(container.StateRunning):
		if _, err := p.eng.ContainerPause(ctx, c.id, client.ContainerPauseOptions{}); err != nil {
			return fmt.Errorf("pausing the container: %w", err)
		}
	case mode == providers.SuspendStop && (running || c.state == string(container.StatePaused)):
		secs := int(p.cfg.StopTimeout / time.Second)
		if _, err := p.eng.ContainerStop(ctx, c.id, client.ContainerStopOptions{Timeout: &secs}); err != nil {
			return fmt.Errorf("stopping the container: %w", err)
		}
	case mode == providers.SuspendSuspend && c.state == string(container.StateRestarting):
		// A restarting container cannot be paused; stopping it keeps its disk.
		secs := int(p.cfg.StopTimeout / time.Second)
		if _, err := p.eng.ContainerStop(ctx, c.id, client.ContainerStopOptions{Timeout: &secs}); err != nil {
			return fmt.Errorf("stopping the restarting container: %w", err)
		}
	}
	return nil
}

// Resume starts (or unpauses) suspended containers, after recording the time
// in a marker volume (StartedAt). A running container is left alone; one that
// exited on its own is started again.
func (p *Provider) Resume(ctx context.Context, ids []string) ([]string, error) {
	return providers.Batch(ctx, "resuming", ids, providers.DefaultParallel, func(id string) error {
		defer p.lock(id)()
		c, err := p.inspectOurs(ctx, "resume", id)
		if err != nil {
			return err
		}
		if _, err := p.ensureRunning(ctx, "resume", c); err != nil {
			return err
		}
		return nil
	})
}

// ensureRunning starts or unpauses c unless it runs, recording a resumed
// marker first, and returns that marker (zero if c was running). The caller
// holds c's lock.
func (p *Provider) ensureRunning(ctx context.Context, op string, c ctr) (marker, error) {
	switch container.ContainerState(c.state) {
	case container.StateRunning, container.StateRestarting:
		return marker{}, nil
	case container.StateRemoving:
		return marker{}, providers.Errorf(providers.KindNotFound, op, c.id, "the container is being removed")
	}
	old, err := p.markersOf(ctx, c.id)
	if err != nil {
		return marker{}, classify(op, c.id, err)
	}
	m, err := p.addMarker(ctx, c, markResumed)
	if err != nil {
		return marker{}, classify(op, c.id, err)
	}
	if c.state == string(container.StatePaused) {
		_, err = p.eng.ContainerUnpause(ctx, c.id, client.ContainerUnpauseOptions{})
	} else {
		_, err = p.eng.ContainerStart(ctx, c.id, client.ContainerStartOptions{})
	}
	if err != nil {
		p.undoMarker(ctx, c, m)
		return marker{}, fmt.Errorf("starting the container: %w", classify(op, c.id, err))
	}
	p.dropOldMarkers(ctx, c, old, m.volume)
	p.log.Info("resumed instance", "instance", c.name, "id", shortID(c.id), "was", c.state)
	return m, nil
}

// undoMarker removes a marker whose action failed, so the container's state
// stays what its older markers say.
func (p *Provider) undoMarker(ctx context.Context, c ctr, m marker) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := p.removeMarkers(cctx, []marker{m}, ""); err != nil {
		p.log.Warn("could not remove the marker of a failed action; List may misreport the container until its next suspend or resume",
			"instance", c.name, "err", err)
	}
}

// Destroy removes the containers with their anonymous volumes, and their
// marker volumes. An id already gone is a success; a container without the
// agentcloud-owner label is never removed.
func (p *Provider) Destroy(ctx context.Context, ids []string) ([]string, error) {
	return providers.Batch(ctx, "destroying", ids, providers.DefaultParallel, func(id string) error {
		defer p.lock(id)()
		r, err := p.eng.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		switch {
		case cerrdefs.IsNotFound(err):
			return p.removeMarkersOf(ctx, id)
		case err != nil:
			return classify("destroy", id, err)
		}
		c := ctrOfInspect(r.Container)
		if _, ok := c.labels[providers.LabelOwner]; !ok {
			return fmt.Errorf("container %s is not an agentcloud container (no %s label): refusing to remove it", shortID(c.id), providers.LabelOwner)
		}
		if _, err := p.eng.ContainerRemove(ctx, c.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("removing the container: %w", classify("destroy", id, err))
		}
		p.log.Info("destroyed instance", "instance", c.name, "id", shortID(c.id))
		return p.removeMarkersOf(ctx, c.id)
	})
}

// removeMarkersOf removes every marker of a removed container. A failure is
// logged, not returned: the container is gone, and List removes leftovers.
func (p *Provider) removeMarkersOf(ctx context.Context, containerID string) error {
	ms, err := p.markersOf(ctx, containerID)
	if err == nil {
		err = p.removeMarkers(ctx, ms, "")
	}
	if err != nil {
		p.log.Warn("could not remove the marker volumes of a destroyed container; List removes them later", "container", containerID, "err", err)
	}
	return nil
}

// inspectOurs inspects a container for op; a missing container, or one
// without the agentcloud-owner label, is KindNotFound.
func (p *Provider) inspectOurs(ctx context.Context, op, id string) (ctr, error) {
	if id == "" {
		return ctr{}, providers.Errorf(providers.KindNotFound, op, id, "empty container id")
	}
	r, err := p.eng.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return ctr{}, classify(op, id, err)
	}
	c := ctrOfInspect(r.Container)
	if _, ok := c.labels[providers.LabelOwner]; !ok {
		return ctr{}, providers.Errorf(providers.KindNotFound, op, id, "container %s is not an agentcloud container (no %s label)", shortID(c.id), providers.LabelOwner)
	}
	return c, nil
}
