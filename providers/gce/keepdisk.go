package gce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/agentcloud/agentcloud/providers"
)

// specVersion is the version of the recreate spec a boot disk carries.
const specVersion = 1

// diskSpec is what a boot disk's description holds so that delete-keep-disk
// can recreate its instance: the original insert body without its disks and
// without the startup script (the provider adds its current one again), and
// the instance template it was created from, if any. It is written when the
// disk is created: a disk's description cannot be changed afterwards.
type diskSpec struct {
	instance      *computepb.Instance
	template      string
	startupScript bool
}

// specJSON is diskSpec as stored.
type specJSON struct {
	V             int             `json:"agentcloud_spec"`
	Template      string          `json:"template,omitempty"`
	StartupScript bool            `json:"startup_script,omitempty"`
	Instance      json.RawMessage `json:"instance"`
}

// encodeSpec renders the recreate spec of an insert body.
func encodeSpec(in *computepb.Instance, template string) (string, error) {
	c := proto.CloneOf(in)
	c.Disks = nil
	startup := false
	if c.Metadata != nil {
		c.Metadata.Items = slices.DeleteFunc(slices.Clone(c.Metadata.Items), func(it *computepb.Items) bool {
			if it.GetKey() == MetadataStartupScript {
				startup = true
				return true
			}
			return false
		})
	}
	inst, err := protojson.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding the recreate spec: %w", err)
	}
	b, err := json.Marshal(specJSON{V: specVersion, Template: template, StartupScript: startup, Instance: inst})
	if err != nil {
		return "", fmt.Errorf("encoding the recreate spec: %w", err)
	}
	return string(b), nil
}

// decodeSpec reads a boot disk's recreate spec.
func decodeSpec(desc string) (diskSpec, error) {
	var sj specJSON
	if err := json.Unmarshal([]byte(desc), &sj); err != nil || sj.V == 0 {
		return diskSpec{}, errors.New("the disk carries no agentcloud recreate spec")
	}
	if sj.V != specVersion {
		return diskSpec{}, fmt.Errorf("the disk's recreate spec has version %d, this provider reads %d", sj.V, specVersion)
	}
	in := &computepb.Instance{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(sj.Instance, in); err != nil {
		return diskSpec{}, fmt.Errorf("reading the disk's recreate spec: %w", err)
	}
	return diskSpec{instance: in, template: sj.Template, startupScript: sj.StartupScript}, nil
}

// keptDisk returns the boot disk delete-keep-disk kept for a machine: one of
// ours, labelled suspended, attached to nothing.
func (p *Provider) keptDisk(ctx context.Context, zone, name string) (*computepb.Disk, bool) {
	d, err := p.api.getDisk(ctx, zone, name)
	if err != nil {
		return nil, false
	}
	_, suspended := d.GetLabels()[providers.LabelSuspendedAt]
	return d, suspended && d.GetLabels()[providers.LabelOwner] != "" && len(d.GetUsers()) == 0
}

// deleteKeepDisk suspends an instance by deleting it and keeping its boot
// disk: the disk is labelled suspended first (so List sees the machine
// throughout), then taken out of auto-delete, then the instance is deleted.
func (p *Provider) deleteKeepDisk(ctx context.Context, zone string, gi *computepb.Instance) error {
	name := gi.GetName()
	id := instanceID(zone, name)
	i := slices.IndexFunc(gi.GetDisks(), func(d *computepb.AttachedDisk) bool { return d.GetBoot() })
	if i < 0 {
		return providers.Errorf(providers.KindNotSupported, "suspend", id, "the instance has no boot disk to keep")
	}
	boot := gi.GetDisks()[i]
	if lastSegment(boot.GetSource()) != name {
		return providers.Errorf(providers.KindNotSupported, "suspend", id, "delete-keep-disk needs the boot disk named after the instance; it is %s", lastSegment(boot.GetSource()))
	}
	d, err := p.api.getDisk(ctx, zone, name)
	if err != nil {
		return typed("suspend", id, fmt.Errorf("reading the boot disk: %w", err))
	}
	if _, err := decodeSpec(d.GetDescription()); err != nil {
		return providers.Errorf(providers.KindNotSupported, "suspend", id,
			"delete-keep-disk cannot recreate this machine: %v (machines created from an instance template without the pool's image do not carry one)", err)
	}
	labels := withLabels(d.GetLabels(), map[string]string{providers.LabelSuspendedAt: unixLabel(p.now())})
	for _, k := range []string{providers.LabelOwner, providers.LabelInstallation, providers.LabelPool, LabelCreatedAt} {
		if v, ok := gi.GetLabels()[k]; ok {
			labels[k] = v
		}
	}
	if _, err := p.do(ctx, zone, func() (*computepb.Operation, error) {
		return p.api.setDiskLabels(ctx, zone, name, labels, d.GetLabelFingerprint())
	}); err != nil {
		return typed("suspend", id, fmt.Errorf("labelling the boot disk suspended: %w", err))
	}
	if boot.GetAutoDelete() {
		if _, err := p.do(ctx, zone, func() (*computepb.Operation, error) {
			return p.api.setDiskAutoDelete(ctx, zone, name, boot.GetDeviceName(), false)
		}); err != nil {
			return typed("suspend", id, fmt.Errorf("keeping the boot disk on delete: %w", err))
		}
	}
	if _, err := p.do(ctx, zone, func() (*computepb.Operation, error) { return p.api.deleteInstance(ctx, zone, name) }); err != nil {
		return typed("suspend", id, fmt.Errorf("deleting the instance: %w", err))
	}
	p.log.Info("suspended instance", "instance", id, "mode", string(SuspendDeleteKeepDisk))
	return nil
}

// recreate resumes a machine suspended by delete-keep-disk: it inserts the
// instance of the disk's recreate spec with the kept disk as its boot disk
// (auto-delete again), then takes the suspended-at label off the disk.
func (p *Provider) recreate(ctx context.Context, zone string, d *computepb.Disk) error {
	name := d.GetName()
	id := instanceID(zone, name)
	spec, err := decodeSpec(d.GetDescription())
	if err != nil {
		return providers.Errorf(providers.KindNotSupported, "resume", id, "cannot recreate the instance: %v", err)
	}
	body := proto.CloneOf(spec.instance)
	body.Name = proto.String(name)
	body.Labels = withLabels(body.GetLabels(), map[string]string{LabelResumedAt: unixMilliLabel(p.now())}, providers.LabelSuspendedAt)
	if spec.startupScript {
		if body.Metadata == nil {
			body.Metadata = &computepb.Metadata{}
		}
		body.Metadata.Items = append(body.Metadata.Items, &computepb.Items{Key: proto.String(MetadataStartupScript), Value: proto.String(startupScript)})
	}
	body.Disks = []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true), Source: proto.String(d.GetSelfLink())}}
	probe := p.fromInstance(body)
	owner := probe.Owner
	offering := providers.Offering{Zone: zone, MachineType: lastSegment(body.GetMachineType())}
	purpose := "resume-" + d.GetLabels()[providers.LabelSuspendedAt]
	in, err := p.insert(ctx, owner, zone, body, spec.template, purpose, offering)
	if err != nil {
		err = fmt.Errorf("recreating the instance from its kept disk: %w", err)
		if k := providers.KindOf(err); k != "" {
			return providers.NewError(k, "resume", id, err)
		}
		return err
	}
	if in.State == providers.StateSuspended {
		return fmt.Errorf("recreating the instance from its kept disk: it is still %s; resume it again", in.State)
	}
	// The label only marks the disk while it is detached; List ignores it
	// once the instance exists, so a failure here is only logged.
	if fresh, err := p.api.getDisk(ctx, zone, name); err == nil {
		labels := withLabels(fresh.GetLabels(), nil, providers.LabelSuspendedAt)
		if _, err := p.do(ctx, zone, func() (*computepb.Operation, error) {
			return p.api.setDiskLabels(ctx, zone, name, labels, fresh.GetLabelFingerprint())
		}); err != nil {
			p.log.Warn("taking the suspended-at label off a resumed machine's disk", "instance", id, "err", err)
		}
	}
	p.log.Info("resumed instance from its kept disk", "instance", id)
	return nil
}
