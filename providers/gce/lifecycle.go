package gce

import (
	"context"
	"fmt"

	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/agentcloud/agentcloud/providers"
)

// Suspend suspends the machines in the mode: stop (TERMINATED, disk kept),
// suspend (SUSPENDED, memory kept too) or delete-keep-disk (the VM deleted,
// its boot disk kept). Each first gets the suspended-at label (on the
// instance, or on the kept disk). Suspending a suspended machine succeeds.
func (p *Provider) Suspend(ctx context.Context, mode providers.SuspendMode, ids []string) ([]string, error) {
	return p.batch(ctx, "suspending", ids, func(ctx context.Context, id string) error {
		if mode == providers.SuspendNone || !p.Capabilities().Supports(mode) {
			return providers.Errorf(providers.KindNotSupported, "suspend", id, "suspend mode %q is not supported by the GCE provider (stop, suspend, delete-keep-disk)", mode)
		}
		zone, name, ok := parseID(id)
		if !ok {
			return providers.Errorf(providers.KindNotFound, "suspend", id, "not a GCE instance id (want <zone>/<name>)")
		}
		gi, err := p.api.getInstance(ctx, zone, name)
		if kindOf(err) == providers.KindNotFound {
			if _, kept := p.keptDisk(ctx, zone, name); kept {
				return nil // suspended already, by delete-keep-disk
			}
			return providers.Errorf(providers.KindNotFound, "suspend", id, "no such instance")
		}
		if err != nil {
			return typed("suspend", id, fmt.Errorf("reading the instance: %w", err))
		}
		if gi.GetLabels()[providers.LabelOwner] == "" {
			return providers.Errorf(providers.KindNotFound, "suspend", id, "the instance is not an agentcloud machine (no %s label)", providers.LabelOwner)
		}
		if mode == SuspendDeleteKeepDisk {
			return p.deleteKeepDisk(ctx, zone, gi)
		}
		return p.stopOrSuspend(ctx, zone, gi, mode)
	})
}

// stopOrSuspend labels the instance suspended and stops or suspends it.
func (p *Provider) stopOrSuspend(ctx context.Context, zone string, gi *computepb.Instance, mode providers.SuspendMode) error {
	name := gi.GetName()
	id := instanceID(zone, name)
	var down bool
	switch gi.GetStatus() {
	case "TERMINATED", "STOPPED", "SUSPENDED", "STOPPING", "SUSPENDING":
		down = true
	}
	// A running instance gets a fresh label even if an old one is left over
	// from a resume cut short.
	if _, labelled := gi.GetLabels()[providers.LabelSuspendedAt]; !labelled || !down {
		labels := withLabels(gi.GetLabels(), map[string]string{providers.LabelSuspendedAt: unixLabel(p.now())})
		if _, err := p.do(ctx, zone, func() (*computepb.Operation, error) {
			return p.api.setInstanceLabels(ctx, zone, name, labels, gi.GetLabelFingerprint())
		}); err != nil {
			return typed("suspend", id, fmt.Errorf("labelling the instance suspended: %w", err))
		}
	}
	if down {
		return nil
	}
	call, verb := p.api.stopInstance, "stopping"
	if mode == providers.SuspendSuspend {
		call, verb = p.api.suspendInstance, "suspending"
	}
	if _, err := p.do(ctx, zone, func() (*computepb.Operation, error) { return call(ctx, zone, name) }); err != nil {
		return typed("suspend", id, fmt.Errorf("%s the instance: %w", verb, err))
	}
	p.log.Info("suspended instance", "instance", id, "mode", string(mode))
	return nil
}

// Resume starts suspended machines again: start for a TERMINATED instance,
// resume for a SUSPENDED one, and a new instance from the kept boot disk for
// one suspended by delete-keep-disk. A running or booting machine is left
// alone. The resumed-at label gives the machine a fresh StartedAt.
func (p *Provider) Resume(ctx context.Context, ids []string) ([]string, error) {
	return p.batch(ctx, "resuming", ids, func(ctx context.Context, id string) error {
		zone, name, ok := parseID(id)
		if !ok {
			return providers.Errorf(providers.KindNotFound, "resume", id, "not a GCE instance id (want <zone>/<name>)")
		}
		gi, err := p.api.getInstance(ctx, zone, name)
		if kindOf(err) == providers.KindNotFound {
			d, kept := p.keptDisk(ctx, zone, name)
			if !kept {
				return providers.Errorf(providers.KindNotFound, "resume", id, "no such instance or kept disk")
			}
			return p.recreate(ctx, zone, d)
		}
		if err != nil {
			return typed("resume", id, fmt.Errorf("reading the instance: %w", err))
		}
		if gi.GetLabels()[providers.LabelOwner] == "" {
			return providers.Errorf(providers.KindNotFound, "resume", id, "the instance is not an agentcloud machine (no %s label)", providers.LabelOwner)
		}
		var call func(context.Context, string, string) (*computepb.Operation, error)
		switch gi.GetStatus() {
		case "TERMINATED", "STOPPED":
			call = p.api.startInstance
		case "SUSPENDED":
			call = p.api.resumeInstance
		case "STOPPING", "SUSPENDING", "PENDING_STOP", "DEPROVISIONING":
			return fmt.Errorf("the instance is %s; resume it once it has stopped", gi.GetStatus())
		default:
			return nil // running or booting already
		}
		labels := withLabels(gi.GetLabels(), map[string]string{LabelResumedAt: unixMilliLabel(p.now())}, providers.LabelSuspendedAt)
		if _, err := p.do(ctx, zone, func() (*computepb.Operation, error) {
			return p.api.setInstanceLabels(ctx, zone, name, labels, gi.GetLabelFingerprint())
		}); err != nil {
			return typed("resume", id, fmt.Errorf("labelling the instance resumed: %w", err))
		}
		if _, err := p.do(ctx, zone, func() (*computepb.Operation, error) { return call(ctx, zone, name) }); err != nil {
			return typed("resume", id, fmt.Errorf("starting the instance: %w", err))
		}
		p.log.Info("resumed instance", "instance", id)
		return nil
	})
}

// Destroy deletes the machines with their disks: the instance (its
// auto-delete boot disk goes with it), then a kept boot disk of the same
// name if one of ours is left. An id already gone is a success.
func (p *Provider) Destroy(ctx context.Context, ids []string) ([]string, error) {
	return p.batch(ctx, "destroying", ids, func(ctx context.Context, id string) error {
		zone, name, ok := parseID(id)
		if !ok {
			p.log.Debug("destroying an id that is not a GCE instance id: nothing to delete", "instance", id)
			return nil
		}
		_, err := p.do(ctx, zone, func() (*computepb.Operation, error) { return p.api.deleteInstance(ctx, zone, name) })
		if err != nil && kindOf(err) != providers.KindNotFound {
			return typed("destroy", id, fmt.Errorf("deleting the instance: %w", err))
		}
		deleted := err == nil
		d, err := p.api.getDisk(ctx, zone, name)
		switch {
		case kindOf(err) == providers.KindNotFound:
		case err != nil:
			return typed("destroy", id, fmt.Errorf("looking for a kept disk: %w", err))
		case d.GetLabels()[providers.LabelOwner] != "" && len(d.GetUsers()) == 0:
			_, err := p.do(ctx, zone, func() (*computepb.Operation, error) { return p.api.deleteDisk(ctx, zone, name) })
			if err != nil && kindOf(err) != providers.KindNotFound {
				return typed("destroy", id, fmt.Errorf("deleting the kept disk: %w", err))
			}
			deleted = true
		}
		if deleted {
			p.log.Info("destroyed instance", "instance", id)
		}
		return nil
	})
}
