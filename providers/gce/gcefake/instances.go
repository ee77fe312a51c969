package gcefake

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// instance is a stored instance and its transition generation: a lifecycle
// call bumps gen, which cancels the transitions an earlier call scheduled.
type instance struct {
	Instance
	zone string
	gen  int
}

// insertInstance serves instances.insert.
func (s *Server) insertInstance(rq *request) (any, *apiError) {
	var in Instance
	if e := rq.decode(&in); e != nil {
		return nil, e
	}
	if ref := rq.r.URL.Query().Get("sourceInstanceTemplate"); ref != "" {
		t, ok := s.templates[lastSegment(ref)]
		if !ok {
			return nil, errNotFound("projects/" + s.cfg.Project + "/global/instanceTemplates/" + lastSegment(ref))
		}
		in = t.apply(in)
	}
	if e := checkName("resource.name", in.Name); e != nil {
		return nil, e
	}
	link := s.link(rq.zone, "instances", in.Name)
	if _, ok := s.instances[key(rq.zone, in.Name)]; ok {
		return nil, errAlreadyExists("projects/" + s.cfg.Project + "/zones/" + rq.zone + "/instances/" + in.Name)
	}
	mt, e := s.machineType(rq.zone, in.MachineType)
	if e != nil {
		return nil, e
	}
	if e := checkLabels("resource.labels", in.Labels); e != nil {
		return nil, e
	}
	if e := checkMetadata(in.Metadata); e != nil {
		return nil, e
	}
	if len(in.NetworkInterfaces) == 0 {
		return nil, errInvalid("Invalid value for field 'resource.networkInterfaces': ''. At least one network interface is required.")
	}
	boots := 0
	for i, d := range in.Disks {
		if d.Boot {
			boots++
		}
		switch {
		case d.InitializeParams != nil && d.Source != "":
			return nil, errInvalid("Invalid value for field 'resource.disks[%d]': both source and initializeParams are set.", i)
		case d.InitializeParams == nil && d.Source == "":
			return nil, errInvalid("Invalid value for field 'resource.disks[%d]': a disk needs a source or initializeParams.", i)
		case d.InitializeParams != nil:
			p := d.InitializeParams
			if d.Boot && !isImage(p.SourceImage) {
				return nil, errInvalid("Invalid value for field 'resource.disks[%d].initializeParams.sourceImage': '%s'. The boot disk needs a source image.", i, p.SourceImage)
			}
			if p.DiskName != "" {
				if e := checkName(fmt.Sprintf("resource.disks[%d].initializeParams.diskName", i), p.DiskName); e != nil {
					return nil, e
				}
			}
			if e := checkLabels(fmt.Sprintf("resource.disks[%d].initializeParams.labels", i), p.Labels); e != nil {
				return nil, e
			}
		}
	}
	if boots != 1 {
		return nil, errInvalid("Invalid value for field 'resource.disks': exactly one boot disk is required (got %d).", boots)
	}

	provision := s.cfg.Delays.Provisioning + s.cfg.Delays.Staging
	if rq.opFault != nil {
		return s.failedOp(rq, "insert", link, provision), nil
	}
	// Disk problems surface in the operation, as on the real API.
	if f := s.diskConflict(rq.zone, in); f != nil {
		rq.opFault = f
		return s.failedOp(rq, "insert", link, 0), nil
	}

	now := rq.now
	stored := &instance{zone: rq.zone, Instance: Instance{
		Kind:              "compute#instance",
		ID:                s.id(),
		CreationTimestamp: stamp(now),
		Name:              in.Name,
		Description:       in.Description,
		Zone:              s.zoneLink(rq.zone),
		MachineType:       s.link(rq.zone, "machineTypes", mt),
		CPUPlatform:       "Intel Broadwell",
		Status:            StatusProvisioning,
		Labels:            maps.Clone(in.Labels),
		Metadata:          &Metadata{Kind: "compute#metadata"},
		Tags:              &Tags{},
		Scheduling:        in.Scheduling,
		SelfLink:          link,
	}}
	stored.LabelFingerprint = fingerprint(stored.Labels)
	if in.Metadata != nil {
		stored.Metadata.Items = in.Metadata.Items
	}
	stored.Metadata.Fingerprint = fingerprint(stored.Metadata.Items)
	if in.Tags != nil {
		stored.Tags.Items = in.Tags.Items
	}
	stored.Tags.Fingerprint = fingerprint(stored.Tags.Items)
	if stored.Scheduling == nil {
		yes := true
		stored.Scheduling = &Scheduling{AutomaticRestart: &yes, OnHostMaintenance: "MIGRATE", ProvisioningModel: "STANDARD"}
	}
	stored.Fingerprint = fingerprint(stored.ID + stamp(now))
	for i, ni := range in.NetworkInterfaces {
		stored.NetworkInterfaces = append(stored.NetworkInterfaces, s.networkInterface(i, ni))
	}
	for _, sa := range in.ServiceAccounts {
		stored.ServiceAccounts = append(stored.ServiceAccounts, ServiceAccount{Email: sa.Email, Scopes: slices.Clone(sa.Scopes)})
	}
	for i, d := range in.Disks {
		stored.Disks = append(stored.Disks, s.attach(rq, stored, i, d))
	}
	s.instances[key(rq.zone, in.Name)] = stored
	ready := func(_ *instance, _ time.Time) {
		for _, d := range stored.Disks {
			if dk, ok := s.disks[key(rq.zone, lastSegment(d.Source))]; ok && dk.Status == DiskCreating {
				dk.Status = DiskReady
			}
		}
	}
	end := s.run(stored, now, []step{
		{s.cfg.Delays.OpPending + s.cfg.Delays.Provisioning, StatusStaging, ready},
		{s.cfg.Delays.Staging, StatusRunning, func(in *instance, at time.Time) { in.LastStartTimestamp = stamp(at) }},
	})
	return s.newOp(rq, "insert", link, stored.ID, end), nil
}

// machineType checks an instance's machine type and returns its short name.
func (s *Server) machineType(zone, mt string) (string, *apiError) {
	if mt == "" {
		return "", errInvalid("Invalid value for field 'resource.machineType': ''. A machine type is required.")
	}
	if z := segmentAfter(mt, "zones"); z != "" && z != zone {
		return "", errInvalid("Invalid value for field 'resource.machineType': '%s'. Machine type zone '%s' does not match the instance zone '%s'.", mt, z, zone)
	}
	name := lastSegment(mt)
	if !slices.Contains(s.cfg.MachineTypes, name) {
		return "", errInvalid("Invalid value for field 'resource.machineType': '%s'. Machine type with name '%s' does not exist in zone '%s'.", mt, name, zone)
	}
	return name, nil
}

// diskConflict returns the operation error of an insert whose disks cannot
// be created or attached, or nil.
func (s *Server) diskConflict(zone string, in Instance) *Fault {
	for i, d := range in.Disks {
		if p := d.InitializeParams; p != nil {
			name := diskName(in.Name, i, d)
			if _, ok := s.disks[key(zone, name)]; ok {
				return &Fault{OpErrorCode: "RESOURCE_ALREADY_EXISTS", OpHTTPStatus: http.StatusConflict,
					OpErrorMessage: fmt.Sprintf("The resource 'projects/%s/zones/%s/disks/%s' already exists", s.cfg.Project, zone, name)}
			}
			continue
		}
		if z := segmentAfter(d.Source, "zones"); z != "" && z != zone {
			return &Fault{OpErrorCode: "INVALID_FIELD_VALUE", OpHTTPStatus: http.StatusBadRequest,
				OpErrorMessage: fmt.Sprintf("Disk '%s' is in zone '%s', not in the instance's zone '%s'.", d.Source, z, zone)}
		}
		dk, ok := s.disks[key(zone, lastSegment(d.Source))]
		if !ok {
			return &Fault{OpErrorCode: "RESOURCE_NOT_FOUND", OpHTTPStatus: http.StatusNotFound,
				OpErrorMessage: fmt.Sprintf("The resource 'projects/%s/zones/%s/disks/%s' was not found", s.cfg.Project, zone, lastSegment(d.Source))}
		}
		if len(dk.Users) > 0 {
			return &Fault{OpErrorCode: "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", OpHTTPStatus: http.StatusBadRequest,
				OpErrorMessage: fmt.Sprintf("The disk resource '%s' is already being used by '%s'", dk.SelfLink, dk.Users[0])}
		}
		if dk.Status != DiskReady {
			return &Fault{OpErrorCode: "RESOURCE_NOT_READY", OpHTTPStatus: http.StatusBadRequest,
				OpErrorMessage: fmt.Sprintf("The resource '%s' is not ready", dk.SelfLink)}
		}
	}
	return nil
}

// diskName is the name a disk created with an instance gets.
func diskName(instance string, index int, d AttachedDisk) string {
	switch {
	case d.InitializeParams != nil && d.InitializeParams.DiskName != "":
		return d.InitializeParams.DiskName
	case d.Boot:
		return instance
	}
	return fmt.Sprintf("%s-%d", instance, index)
}

// attach creates (or takes) the disk of an insert and returns it as attached.
func (s *Server) attach(rq *request, in *instance, index int, d AttachedDisk) AttachedDisk {
	zone := rq.zone
	out := AttachedDisk{
		Kind:       "compute#attachedDisk",
		Type:       "PERSISTENT",
		Mode:       "READ_WRITE",
		DeviceName: d.DeviceName,
		Index:      index,
		Boot:       d.Boot,
		AutoDelete: d.AutoDelete,
		Interface:  "SCSI",
	}
	if out.DeviceName == "" {
		out.DeviceName = fmt.Sprintf("persistent-disk-%d", index)
	}
	var dk *disk
	if p := d.InitializeParams; p != nil {
		name := diskName(in.Name, index, d)
		size := int64(p.DiskSizeGb)
		if size == 0 {
			size = 10
		}
		dtype := p.DiskType
		if dtype == "" {
			dtype = "pd-standard"
		}
		dk = &disk{zone: zone, Disk: Disk{
			Kind:              "compute#disk",
			ID:                s.id(),
			CreationTimestamp: stamp(rq.now),
			Name:              name,
			Description:       p.Description,
			Zone:              s.zoneLink(zone),
			SizeGb:            Int64(size),
			Status:            DiskCreating,
			SourceImage:       expandImage(p.SourceImage),
			Type:              s.link(zone, "diskTypes", lastSegment(dtype)),
			Labels:            maps.Clone(p.Labels),
			SelfLink:          s.link(zone, "disks", name),
		}}
		dk.LabelFingerprint = fingerprint(dk.Labels)
		s.disks[key(zone, name)] = dk
	} else {
		dk = s.disks[key(zone, lastSegment(d.Source))]
	}
	dk.Users = append(dk.Users, in.SelfLink)
	dk.LastAttachTimestamp = stamp(rq.now)
	out.Source = dk.SelfLink
	out.DiskSizeGb = dk.SizeGb
	return out
}

// expandImage turns a partial image path into a URL.
func expandImage(img string) string {
	if strings.HasPrefix(img, "https://") {
		return img
	}
	return apiBase + img
}

// networkInterface fills an interface's addresses.
func (s *Server) networkInterface(i int, ni NetworkInterface) NetworkInterface {
	out := NetworkInterface{
		Kind:      "compute#networkInterface",
		Name:      fmt.Sprintf("nic%d", i),
		StackType: "IPV4_ONLY",
		NetworkIP: fmt.Sprintf("10.128.%d.%d", (s.nextID/7919)%250, (s.nextID/13)%250+2),
	}
	switch {
	case ni.Network != "":
		out.Network = expandGlobal(s.cfg.Project, ni.Network)
	case ni.Subnetwork == "":
		out.Network = expandGlobal(s.cfg.Project, "global/networks/default")
	}
	if ni.Subnetwork != "" {
		out.Subnetwork = expandGlobal(s.cfg.Project, ni.Subnetwork)
	}
	for _, ac := range ni.AccessConfigs {
		out.AccessConfigs = append(out.AccessConfigs, AccessConfig{
			Kind: "compute#accessConfig", Type: "ONE_TO_ONE_NAT", Name: ac.Name, NetworkTier: "PREMIUM",
			NatIP: fmt.Sprintf("34.%d.%d.%d", (s.nextID/7)%250, (s.nextID/11)%250, (s.nextID/17)%250+1),
		})
	}
	out.Fingerprint = fingerprint(out)
	return out
}

// expandGlobal turns a partial path into a URL in the project.
func expandGlobal(project, p string) string {
	switch {
	case strings.HasPrefix(p, "https://"):
		return p
	case strings.HasPrefix(p, "projects/"):
		return apiBase + p
	}
	return apiBase + "projects/" + project + "/" + p
}
