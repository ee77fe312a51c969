package gce

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/agentcloud/agentcloud/providers"
)

// maxGenerations bounds the requestIds one insert walks through.
const maxGenerations = 16

// Create creates the requested machines in parallel and returns those that
// exist afterwards (created or adopted), in request order, plus the joined
// failures. A name that exists with our owner is adopted, never duplicated.
// Capacity errors name the offering (zone/machine type).
func (p *Provider) Create(ctx context.Context, reqs []providers.CreateRequest) ([]providers.Instance, error) {
	out := make([]*providers.Instance, len(reqs))
	errs := make([]error, len(reqs))
	providers.Parallel(len(reqs), providers.DefaultParallel, func(i int) {
		in, err := p.createOne(ctx, reqs[i])
		if err != nil {
			errs[i] = fmt.Errorf("creating instance %s: %w", reqs[i].Name, err)
			return
		}
		out[i] = &in
	})
	var insts []providers.Instance
	for _, in := range out {
		if in != nil {
			insts = append(insts, *in)
		}
	}
	return insts, errors.Join(errs...)
}

// createOne creates one machine, or adopts the one that has its name.
func (p *Provider) createOne(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if err := ctx.Err(); err != nil {
		return providers.Instance{}, err
	}
	ps, err := parsePoolSettings(req.Settings)
	if err != nil {
		return providers.Instance{}, fmt.Errorf("pool settings: %w", err)
	}
	if !nameRE.MatchString(req.Name) {
		return providers.Instance{}, fmt.Errorf("invalid name %q: GCE names are lowercase letters, digits and '-', start with a letter, at most 63", req.Name)
	}
	zone := p.zoneFor(req.Offering)
	if !p.knownZone(zone) {
		return providers.Instance{}, fmt.Errorf("zone %q is not among the provider's zones %v", zone, p.cfg.Zones)
	}
	mt := req.Offering.MachineType
	if mt == "" {
		mt = ps.machineType
	}
	switch {
	case mt == "" && ps.template == "":
		return providers.Instance{}, errors.New("no machine type: set the offering's machine_type, or settings.machine_type or settings.instance_template")
	case req.Image == "" && ps.template == "":
		return providers.Instance{}, errors.New("no image: set the pool's image, or settings.instance_template")
	}
	body, err := p.instanceBody(req, zone, mt, ps)
	if err != nil {
		return providers.Instance{}, err
	}
	offering := providers.Offering{Zone: zone, MachineType: mt}
	// The machine type and template are part of the requestId: after a
	// stockout cloudmgr may ask for the same name with the next machine type
	// in the same zone, which is a new request, not a retry.
	purpose := "create " + mt + " " + ps.template
	in, err := p.insert(ctx, req.Owner, zone, body, ps.template, purpose, offering)
	if err != nil {
		return providers.Instance{}, err
	}
	p.log.Info("created instance", "instance", in.ID, "offering", offering.String())
	return in, nil
}

// instanceBody builds the insert body of a request.
func (p *Provider) instanceBody(req providers.CreateRequest, zone, mt string, ps poolSettings) (*computepb.Instance, error) {
	now := p.now()
	labels := identityLabels(req.Owner, req.Installation, req.Pool)
	labels[LabelCreatedAt] = unixMilliLabel(now)
	maps.Copy(labels, ps.labels)

	env := maps.Clone(req.Env)
	if env == nil {
		env = map[string]string{}
	}
	if env["AGENTCLOUD_INSTANCE"] == "" {
		env["AGENTCLOUD_INSTANCE"] = instanceID(zone, req.Name)
	}
	envText, err := encodeEnv(env)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{
		metaOwner:        req.Owner,
		metaInstallation: req.Installation,
		metaPool:         req.Pool,
		MetadataEnv:      envText,
	}
	maps.Copy(meta, ps.metadata)
	if ps.startupScript {
		meta[MetadataStartupScript] = startupScript
	}

	in := &computepb.Instance{
		Name:        proto.String(req.Name),
		Description: proto.String(fmt.Sprintf("agentcloud agent of pool %s (installation %s)", req.Pool, req.Installation)),
		Labels:      labels,
		Metadata:    &computepb.Metadata{Items: metadataItems(meta)},
	}
	if mt != "" {
		in.MachineType = proto.String(partial(mt, "zones/"+zone+"/machineTypes/"))
	}
	if ps.network != "" || ps.subnetwork != "" || ps.externalIP || ps.template == "" {
		ni := &computepb.NetworkInterface{}
		if ps.network != "" {
			ni.Network = proto.String(partial(ps.network, "global/networks/"))
		}
		if ps.subnetwork != "" {
			ni.Subnetwork = proto.String(partial(ps.subnetwork, "regions/"+region(zone)+"/subnetworks/"))
		}
		if ni.Network == nil && ni.Subnetwork == nil {
			ni.Network = proto.String("global/networks/default")
		}
		if ps.externalIP {
			ni.AccessConfigs = []*computepb.AccessConfig{{Name: proto.String("External NAT"), Type: proto.String("ONE_TO_ONE_NAT")}}
		}
		in.NetworkInterfaces = []*computepb.NetworkInterface{ni}
	}
	if ps.serviceAccount != "" {
		in.ServiceAccounts = []*computepb.ServiceAccount{{Email: proto.String(ps.serviceAccount), Scopes: ps.scopes}}
	}
	if len(ps.tags) > 0 {
		in.Tags = &computepb.Tags{Items: ps.tags}
	}
	if req.Image != "" {
		diskType := ps.diskType
		if diskType == "" {
			diskType = "pd-balanced"
		}
		init := &computepb.AttachedDiskInitializeParams{
			DiskName:    proto.String(req.Name),
			SourceImage: proto.String(partial(req.Image, "global/images/")),
			DiskType:    proto.String(partial(diskType, "zones/"+zone+"/diskTypes/")),
			Labels:      withLabels(identityLabels(req.Owner, req.Installation, req.Pool), map[string]string{LabelCreatedAt: labels[LabelCreatedAt]}),
		}
		if ps.diskSizeGB > 0 {
			init.DiskSizeGb = proto.Int64(ps.diskSizeGB)
		}
		spec, err := encodeSpec(in, ps.template)
		if err != nil {
			return nil, err
		}
		init.Description = proto.String(spec)
		in.Disks = []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true), InitializeParams: init}}
	}
	return in, nil
}

// metadataItems turns a map into sorted metadata items.
func metadataItems(m map[string]string) []*computepb.Items {
	items := make([]*computepb.Items, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		items = append(items, &computepb.Items{Key: proto.String(k), Value: proto.String(m[k])})
	}
	return items
}

// partial returns s when it is already a path or URL, else prefix+s.
func partial(s, prefix string) string {
	if strings.Contains(s, "/") {
		return s
	}
	return prefix + s
}

// region returns the region of a zone ("us-central1" of "us-central1-a").
func region(zone string) string {
	if i := strings.LastIndexByte(zone, '-'); i > 0 {
		return zone[:i]
	}
	return zone
}

// insert inserts an instance and waits for it, adopting an instance of the
// same name that is ours. Its requestId is derived from owner, zone, name,
// purpose and a generation: a retried insert (lost answer, restart) reuses
// it and the API answers with the first insert's operation instead of
// creating a second VM. When that operation belongs to an earlier life of
// the name (it finished, yet no instance exists; or it failed well before
// this call), the next generation's requestId is tried.
func (p *Provider) insert(ctx context.Context, owner, zone string, body *computepb.Instance, template, purpose string, offering providers.Offering) (providers.Instance, error) {
	name := body.GetName()
	for gen := 0; gen < maxGenerations; gen++ {
		if in, ok, err := p.existing(ctx, owner, zone, name); err != nil || ok {
			return in, err
		}
		start := p.now()
		op, err := p.api.insertInstance(ctx, zone, body, template, requestID(owner, zone, name, purpose, gen))
		if err == nil {
			if op.GetStatus() == computepb.Operation_DONE && operationError(op) != nil && p.stale(op, start) {
				p.log.Debug("insert answered with an earlier failed operation; trying the next requestId", "instance", name, "operation", op.GetName())
				continue
			}
			_, err = p.wait(ctx, zone, op)
		}
		if err != nil {
			if alreadyExists(err) {
				if in, ok, aerr := p.adoptTaken(ctx, owner, zone, name); aerr != nil || ok {
					return in, aerr
				}
			}
			return providers.Instance{}, typed("create", name, fmt.Errorf("inserting in %s: %w", offering, err))
		}
		gi, err := p.api.getInstance(ctx, zone, name)
		if kindOf(err) == providers.KindNotFound {
			p.log.Debug("insert's operation finished but no instance exists (an earlier life of the name); trying the next requestId", "instance", name, "operation", op.GetName())
			continue
		}
		if err != nil {
			return providers.Instance{}, typed("create", name, fmt.Errorf("reading the new instance: %w", err))
		}
		return p.fromInstance(gi), nil
	}
	return providers.Instance{}, fmt.Errorf("inserting in %s: %d requestIds of this name were used before and none created it", offering, maxGenerations)
}

// existing looks the name up: ok when an instance of ours has it (adopted);
// an error when someone else's has it.
func (p *Provider) existing(ctx context.Context, owner, zone, name string) (providers.Instance, bool, error) {
	gi, err := p.api.getInstance(ctx, zone, name)
	switch {
	case kindOf(err) == providers.KindNotFound:
		return providers.Instance{}, false, nil
	case err != nil:
		return providers.Instance{}, false, typed("create", name, fmt.Errorf("looking up %s/%s: %w", zone, name, err))
	}
	in := p.fromInstance(gi)
	if in.Owner != owner {
		return providers.Instance{}, false, fmt.Errorf("the name is taken by instance %s of owner %q", in.ID, in.Owner)
	}
	p.log.Debug("adopting existing instance", "instance", in.ID)
	return in, true, nil
}

// adoptTaken handles an insert refused because the name exists: an instance
// of ours is adopted, and so is a boot disk of ours kept by delete-keep-disk
// (the machine is then suspended). ok is false when neither is ours.
func (p *Provider) adoptTaken(ctx context.Context, owner, zone, name string) (providers.Instance, bool, error) {
	if in, ok, err := p.existing(ctx, owner, zone, name); err != nil || ok {
		return in, ok, err
	}
	d, err := p.api.getDisk(ctx, zone, name)
	if err != nil {
		return providers.Instance{}, false, nil
	}
	if in, ok := p.fromKeptDisk(d); ok && in.Owner == owner {
		return in, true, nil
	}
	return providers.Instance{}, false, fmt.Errorf("a disk named %s exists in %s and is not a machine of owner %q", name, zone, owner)
}
