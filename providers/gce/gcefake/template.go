package gcefake

import (
	"maps"
	"slices"
)

// Template is an instance template's properties, added with AddTemplate and
// used by inserts that name it in sourceInstanceTemplate.
type Template struct {
	// MachineType is a short machine type name.
	MachineType string
	// SourceImage is the boot disk's image.
	SourceImage string
	// DiskSizeGb is the boot disk's size (default 10).
	DiskSizeGb int64
	// Labels and Metadata are copied onto the instance (the request's win).
	Labels   map[string]string
	Metadata map[string]string
	// Network is the network of the template's interface (default "default").
	Network string
	// ServiceAccount, when set, runs the instance with the cloud-platform scope.
	ServiceAccount string
}

// AddTemplate adds a global instance template.
func (s *Server) AddTemplate(name string, t Template) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templates[name] = t
}

// apply fills the instance's unset properties from the template.
func (t Template) apply(in Instance) Instance {
	if in.MachineType == "" {
		in.MachineType = t.MachineType
	}
	if len(in.Disks) == 0 {
		size := t.DiskSizeGb
		if size == 0 {
			size = 10
		}
		in.Disks = []AttachedDisk{{Boot: true, AutoDelete: true, InitializeParams: &AttachedDiskInitializeParams{SourceImage: t.SourceImage, DiskSizeGb: Int64(size)}}}
	}
	if len(in.NetworkInterfaces) == 0 {
		nw := t.Network
		if nw == "" {
			nw = "default"
		}
		in.NetworkInterfaces = []NetworkInterface{{Network: "global/networks/" + nw}}
	}
	if len(in.ServiceAccounts) == 0 && t.ServiceAccount != "" {
		in.ServiceAccounts = []ServiceAccount{{Email: t.ServiceAccount, Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}}}
	}
	labels := maps.Clone(t.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, in.Labels)
	in.Labels = labels
	if len(t.Metadata) > 0 {
		if in.Metadata == nil {
			in.Metadata = &Metadata{}
		}
		for _, k := range slices.Sorted(maps.Keys(t.Metadata)) {
			if !slices.ContainsFunc(in.Metadata.Items, func(it MetadataItem) bool { return it.Key == k }) {
				v := t.Metadata[k]
				in.Metadata.Items = append(in.Metadata.Items, MetadataItem{Key: k, Value: &v})
			}
		}
	}
	return in
}
