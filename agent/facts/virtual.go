package facts

import (
	"io/fs"
	"regexp"
	"strings"
)

// physicalHypervisors are values of the virtual fact that Facter counts as
// not virtual.
var physicalHypervisors = []string{"physical", "xen0", "vmware_server", "vmware_workstation", "openvzhn", "vserver_host"}

// productHypervisors maps DMI product names to the virtual fact, as Facter.
var productHypervisors = []struct{ product, virtual string }{
	{"VMware", "vmware"}, {"VirtualBox", "virtualbox"}, {"Parallels", "parallels"}, {"KVM", "kvm"},
	{"Virtual Machine", "hyperv"}, {"RHEV Hypervisor", "rhev"}, {"oVirt Node", "ovirt"},
	{"HVM domU", "xenhvm"}, {"Bochs", "bochs"}, {"OpenBSD", "vmm"}, {"BHYVE", "bhyve"},
}

var dockerCgroup = regexp.MustCompile(`docker/(.+)`)

// virtualFacts finds the virtual fact cheaply, in Facter's order of checks
// where they apply without forking: containers (docker, lxc, systemd-nspawn,
// podman), then DMI (gce, EC2's kvm, known products), then the CPU's
// hypervisor flag (kvm), else physical.
func virtualFacts(fsys fs.FS) string {
	cgroup := string(readFile(fsys, "/proc/1/cgroup"))
	environ := strings.ReplaceAll(string(readFile(fsys, "/proc/1/environ")), "\x00", "\n")
	switch {
	case dockerCgroup.MatchString(cgroup) || exists(fsys, "/.dockerenv"):
		return "docker"
	case strings.Contains(cgroup, "/lxc/") || strings.Contains(environ, "container=lxc"):
		return "lxc"
	case strings.Contains(environ, "container=systemd-nspawn"):
		return "systemd_nspawn"
	case exists(fsys, "/run/.containerenv") || strings.Contains(environ, "container=podman"):
		return "podman"
	}
	bios := string(readFile(fsys, "/sys/class/dmi/id/bios_vendor"))
	product := string(readFile(fsys, "/sys/class/dmi/id/product_name"))
	switch {
	case strings.Contains(bios, "Google"):
		return "gce"
	case strings.Contains(bios, "Amazon EC2"):
		return "kvm"
	}
	for _, p := range productHypervisors {
		if strings.Contains(product, p.product) {
			return p.virtual
		}
	}
	if hasHypervisorFlag(string(readFile(fsys, "/proc/cpuinfo"))) {
		return "kvm"
	}
	return "physical"
}

// hasHypervisorFlag reports whether the CPU flags include "hypervisor".
func hasHypervisorFlag(cpuinfo string) bool {
	for _, line := range strings.Split(cpuinfo, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			for _, f := range strings.Fields(v) {
				if f == "hypervisor" {
					return true
				}
			}
			return false
		}
	}
	return false
}

// isVirtual is Facter's is_virtual for a virtual fact.
func isVirtual(virtual string) bool {
	for _, p := range physicalHypervisors {
		if virtual == p {
			return false
		}
	}
	return true
}
