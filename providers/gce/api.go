package gce

import (
	"context"
	"errors"
	"fmt"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

// computeAPI is the part of the Compute Engine API the provider uses. Every
// mutating call returns the zonal operation it started.
type computeAPI interface {
	getInstance(ctx context.Context, zone, name string) (*computepb.Instance, error)
	insertInstance(ctx context.Context, zone string, in *computepb.Instance, template, requestID string) (*computepb.Operation, error)
	// listInstances runs instances.aggregatedList with the filter over every
	// page, and returns the instances and the scopes reported unreachable.
	listInstances(ctx context.Context, filter string) ([]*computepb.Instance, []string, error)
	stopInstance(ctx context.Context, zone, name string) (*computepb.Operation, error)
	startInstance(ctx context.Context, zone, name string) (*computepb.Operation, error)
	suspendInstance(ctx context.Context, zone, name string) (*computepb.Operation, error)
	resumeInstance(ctx context.Context, zone, name string) (*computepb.Operation, error)
	deleteInstance(ctx context.Context, zone, name string) (*computepb.Operation, error)
	setInstanceLabels(ctx context.Context, zone, name string, labels map[string]string, fingerprint string) (*computepb.Operation, error)
	setDiskAutoDelete(ctx context.Context, zone, name, device string, autoDelete bool) (*computepb.Operation, error)

	getDisk(ctx context.Context, zone, name string) (*computepb.Disk, error)
	// listDisks runs disks.aggregatedList like listInstances.
	listDisks(ctx context.Context, filter string) ([]*computepb.Disk, []string, error)
	setDiskLabels(ctx context.Context, zone, name string, labels map[string]string, fingerprint string) (*computepb.Operation, error)
	deleteDisk(ctx context.Context, zone, name string) (*computepb.Operation, error)

	// waitOperation blocks until the operation is DONE or the server's wait
	// times out (about 2 minutes), and returns it as it is then.
	waitOperation(ctx context.Context, zone, name string) (*computepb.Operation, error)

	close() error
}

// sdk implements computeAPI with the REST clients of cloud.google.com/go/compute.
type sdk struct {
	project  string
	pageSize int
	inst     *compute.InstancesClient
	disks    *compute.DisksClient
	ops      *compute.ZoneOperationsClient
}

var _ computeAPI = (*sdk)(nil)

// newSDK opens the three REST clients.
func newSDK(ctx context.Context, project string, pageSize int, opts ...option.ClientOption) (*sdk, error) {
	inst, err := compute.NewInstancesRESTClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening the instances client: %w", err)
	}
	disks, err := compute.NewDisksRESTClient(ctx, opts...)
	if err != nil {
		_ = inst.Close()
		return nil, fmt.Errorf("opening the disks client: %w", err)
	}
	ops, err := compute.NewZoneOperationsRESTClient(ctx, opts...)
	if err != nil {
		_ = inst.Close()
		_ = disks.Close()
		return nil, fmt.Errorf("opening the zone operations client: %w", err)
	}
	return &sdk{project: project, pageSize: pageSize, inst: inst, disks: disks, ops: ops}, nil
}

func (c *sdk) close() error {
	return errors.Join(c.inst.Close(), c.disks.Close(), c.ops.Close())
}

// proto returns the operation's message; a nil operation has none.
func opProto(op *compute.Operation, err error) (*computepb.Operation, error) {
	if err != nil {
		return nil, err
	}
	return op.Proto(), nil
}

func (c *sdk) getInstance(ctx context.Context, zone, name string) (*computepb.Instance, error) {
	return c.inst.Get(ctx, &computepb.GetInstanceRequest{Project: c.project, Zone: zone, Instance: name})
}

func (c *sdk) insertInstance(ctx context.Context, zone string, in *computepb.Instance, template, requestID string) (*computepb.Operation, error) {
	req := &computepb.InsertInstanceRequest{Project: c.project, Zone: zone, InstanceResource: in, RequestId: proto.String(requestID)}
	if template != "" {
		req.SourceInstanceTemplate = proto.String(template)
	}
	return opProto(c.inst.Insert(ctx, req))
}

func (c *sdk) listInstances(ctx context.Context, filter string) ([]*computepb.Instance, []string, error) {
	it := c.inst.AggregatedList(ctx, &computepb.AggregatedListInstancesRequest{
		Project: c.project, Filter: proto.String(filter), MaxResults: proto.Uint32(uint32(c.pageSize)),
	})
	var out []*computepb.Instance
	unreachable := map[string]bool{}
	pager := iterator.NewPager(it, c.pageSize, "")
	for {
		var pairs []compute.InstancesScopedListPair
		next, err := pager.NextPage(&pairs)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range pairs {
			out = append(out, p.Value.GetInstances()...)
		}
		if it.Response != nil {
			for _, u := range it.Response.(*computepb.InstanceAggregatedList).GetUnreachables() {
				unreachable[u] = true
			}
		}
		if next == "" {
			return out, keys(unreachable), nil
		}
	}
}

func (c *sdk) stopInstance(ctx context.Context, zone, name string) (*computepb.Operation, error) {
	return opProto(c.inst.Stop(ctx, &computepb.StopInstanceRequest{Project: c.project, Zone: zone, Instance: name}))
}

func (c *sdk) startInstance(ctx context.Context, zone, name string) (*computepb.Operation, error) {
	return opProto(c.inst.Start(ctx, &computepb.StartInstanceRequest{Project: c.project, Zone: zone, Instance: name}))
}

func (c *sdk) suspendInstance(ctx context.Context, zone, name string) (*computepb.Operation, error) {
	return opProto(c.inst.Suspend(ctx, &computepb.SuspendInstanceRequest{Project: c.project, Zone: zone, Instance: name}))
}

func (c *sdk) resumeInstance(ctx context.Context, zone, name string) (*computepb.Operation, error) {
	return opProto(c.inst.Resume(ctx, &computepb.ResumeInstanceRequest{Project: c.project, Zone: zone, Instance: name}))
}

func (c *sdk) deleteInstance(ctx context.Context, zone, name string) (*computepb.Operation, error) {
	return opProto(c.inst.Delete(ctx, &computepb.DeleteInstanceRequest{Project: c.project, Zone: zone, Instance: name}))
}

func (c *sdk) setInstanceLabels(ctx context.Context, zone, name string, labels map[string]string, fingerprint string) (*computepb.Operation, error) {
	return opProto(c.inst.SetLabels(ctx, &computepb.SetLabelsInstanceRequest{
		Project: c.project, Zone: zone, Instance: name,
		InstancesSetLabelsRequestResource: &computepb.InstancesSetLabelsRequest{Labels: labels, LabelFingerprint: proto.String(fingerprint)},
	}))
}

func (c *sdk) setDiskAutoDelete(ctx context.Context, zone, name, device string, autoDelete bool) (*computepb.Operation, error) {
	return opProto(c.inst.SetDiskAutoDelete(ctx, &computepb.SetDiskAutoDeleteInstanceRequest{
		Project: c.project, Zone: zone, Instance: name, DeviceName: device, AutoDelete: autoDelete,
	}))
}

func (c *sdk) getDisk(ctx context.Context, zone, name string) (*computepb.Disk, error) {
	return c.disks.Get(ctx, &computepb.GetDiskRequest{Project: c.project, Zone: zone, Disk: name})
}

func (c *sdk) listDisks(ctx context.Context, filter string) ([]*computepb.Disk, []string, error) {
	it := c.disks.AggregatedList(ctx, &computepb.AggregatedListDisksRequest{
		Project: c.project, Filter: proto.String(filter), MaxResults: proto.Uint32(uint32(c.pageSize)),
	})
	var out []*computepb.Disk
	unreachable := map[string]bool{}
	pager := iterator.NewPager(it, c.pageSize, "")
	for {
		var pairs []compute.DisksScopedListPair
		next, err := pager.NextPage(&pairs)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range pairs {
			out = append(out, p.Value.GetDisks()...)
		}
		if it.Response != nil {
			for _, u := range it.Response.(*computepb.DiskAggregatedList).GetUnreachables() {
				unreachable[u] = true
			}
		}
		if next == "" {
			return out, keys(unreachable), nil
		}
	}
}

func (c *sdk) setDiskLabels(ctx context.Context, zone, name string, labels map[string]string, fingerprint string) (*computepb.Operation, error) {
	return opProto(c.disks.SetLabels(ctx, &computepb.SetLabelsDiskRequest{
		Project: c.project, Zone: zone, Resource: name,
		ZoneSetLabelsRequestResource: &computepb.ZoneSetLabelsRequest{Labels: labels, LabelFingerprint: proto.String(fingerprint)},
	}))
}

func (c *sdk) deleteDisk(ctx context.Context, zone, name string) (*computepb.Operation, error) {
	return opProto(c.disks.Delete(ctx, &computepb.DeleteDiskRequest{Project: c.project, Zone: zone, Disk: name}))
}

func (c *sdk) waitOperation(ctx context.Context, zone, name string) (*computepb.Operation, error) {
	return c.ops.Wait(ctx, &computepb.WaitZoneOperationRequest{Project: c.project, Zone: zone, Operation: name})
}
