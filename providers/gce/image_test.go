package gce

import (
	"maps"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// apiPermissions are the IAM permissions each call of computeAPI needs.
var apiPermissions = map[string][]string{
	"getInstance": {"compute.instances.get"},
	// An insert sets labels, metadata, tags and a service account, creates
	// its boot disk (with labels) from an image or a template, or attaches a
	// kept disk, and joins a network or subnetwork with or without an
	// external address.
	"insertInstance": {
		"compute.instances.create", "compute.instances.setLabels", "compute.instances.setMetadata",
		"compute.instances.setTags", "compute.instances.setServiceAccount",
		"compute.disks.create", "compute.disks.setLabels", "compute.disks.use",
		"compute.images.useReadOnly", "compute.instanceTemplates.useReadOnly",
		"compute.networks.use", "compute.subnetworks.use", "compute.subnetworks.useExternalIp",
	},
	"listInstances":     {"compute.instances.list"},
	"stopInstance":      {"compute.instances.stop"},
	"startInstance":     {"compute.instances.start"},
	"suspendInstance":   {"compute.instances.suspend"},
	"resumeInstance":    {"compute.instances.resume"},
	"deleteInstance":    {"compute.instances.delete"},
	"setInstanceLabels": {"compute.instances.setLabels"},
	"setDiskAutoDelete": {"compute.instances.setDiskAutoDelete"},
	"getDisk":           {"compute.disks.get"},
	"listDisks":         {"compute.disks.list"},
	"setDiskLabels":     {"compute.disks.setLabels"},
	"deleteDisk":        {"compute.disks.delete"},
	"waitOperation":     {"compute.zoneOperations.get"},
}

// role is a custom role file as gcloud iam roles create --file reads it.
type role struct {
	Title               string   `yaml:"title"`
	Description         string   `yaml:"description"`
	Stage               string   `yaml:"stage"`
	IncludedPermissions []string `yaml:"includedPermissions"`
}

// readRole parses a role file strictly.
func readRole(t *testing.T, path string) role {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var r role
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	if r.Title == "" || r.Description == "" || !slices.Contains([]string{"ALPHA", "BETA", "GA"}, r.Stage) {
		t.Errorf("%s: title %q, description %q, stage %q; want all set, stage ALPHA, BETA or GA", path, r.Title, r.Description, r.Stage)
	}
	perm := regexp.MustCompile(`^[a-z]+\.[A-Za-z]+\.[A-Za-z]+$`)
	for _, p := range r.IncludedPermissions {
		if !perm.MatchString(p) {
			t.Errorf("%s: %q is not a permission name", path, p)
		}
	}
	if !slices.IsSorted(r.IncludedPermissions) || len(slices.Compact(slices.Clone(r.IncludedPermissions))) != len(r.IncludedPermissions) {
		t.Errorf("%s: permissions are not sorted and unique", path)
	}
	return r
}

// TestRoleGrantsExactlyWhatTheProviderCalls: the custom role holds the
// permissions of every API call the provider makes, and nothing more.
func TestRoleGrantsExactlyWhatTheProviderCalls(t *testing.T) {
	api := reflect.TypeFor[computeAPI]()
	for i := range api.NumMethod() {
		if m := api.Method(i).Name; m != "close" && apiPermissions[m] == nil {
			t.Errorf("computeAPI.%s has no entry in apiPermissions: which IAM permissions does it need?", m)
		}
	}
	want := map[string]bool{}
	for _, ps := range apiPermissions {
		for _, p := range ps {
			want[p] = true
		}
	}
	r := readRole(t, "../../images/gce/role.yaml")
	if got, w := r.IncludedPermissions, slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
		t.Errorf("role.yaml grants\n  %v\nthe provider's calls need\n  %v", got, w)
	}
	actas := readRole(t, "../../images/gce/role-actas.yaml")
	if !slices.Equal(actas.IncludedPermissions, []string{"iam.serviceAccounts.actAs"}) {
		t.Errorf("role-actas.yaml grants %v, want only iam.serviceAccounts.actAs", actas.IncludedPermissions)
	}
	docs, err := os.ReadFile("../../docs/gce.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(r.IncludedPermissions, actas.IncludedPermissions...) {
		if !strings.Contains(string(docs), "`"+p+"`") {
			t.Errorf("docs/gce.md does not list `%s`", p)
		}
	}
}

// TestImageFilesAgree: the Packer template, the unit, the fetch script and
// the provider's startup script name the same paths, and the template is
// well-formed HCL (packer fmt; packer validate where Packer is new enough).
func TestImageFilesAgree(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tmpl := read("../../images/gce/agentcloud-agent.pkr.hcl")
	unit := read("../../images/gce/agentcloud-agent.service")
	fetch := read(fetchEnvScript)
	for _, c := range []struct{ what, text, want string }{
		{"the template installs the unit", tmpl, "/etc/systemd/system/agentcloud-agent.service"},
		{"the template installs the fetch script", tmpl, "/usr/local/lib/agentcloud/fetch-env"},
		{"the template installs the agent", tmpl, "/usr/local/bin/agent"},
		{"the unit runs the fetch script", unit, "ExecStartPre=+/usr/local/lib/agentcloud/fetch-env"},
		{"the unit runs the agent", unit, "exec /usr/local/bin/agent"},
		{"the unit reads the env file", unit, ". /etc/agentcloud/agent.env"},
		{"the fetch script writes the env file", fetch, "/etc/agentcloud/agent.env"},
		{"the fetch script reads the metadata key", fetch, "attributes/" + MetadataEnv},
		{"the startup script writes the env file", startupScript, "/etc/agentcloud/agent.env"},
		{"the startup script restarts the unit", startupScript, "agentcloud-agent.service"},
		{"the startup script reads the metadata key", startupScript, "fetch " + MetadataEnv},
	} {
		if !strings.Contains(c.text, c.want) {
			t.Errorf("%s: %q not found", c.what, c.want)
		}
	}

	requireTool(t, "packer")
	out, err := exec.Command("packer", "fmt", "-check", "-diff", "../../images/gce").CombinedOutput()
	if err != nil {
		t.Errorf("packer fmt -check images/gce: %v\n%s", err, out)
	}
	ver, _ := exec.Command("packer", "version").Output()
	m := regexp.MustCompile(`v?(\d+)\.(\d+)`).FindStringSubmatch(string(ver))
	var major, minor int
	if m != nil {
		major, _ = strconv.Atoi(m[1])
		minor, _ = strconv.Atoi(m[2])
	}
	if major < 1 || (major == 1 && minor < 10) {
		t.Logf("packer %s predates 1.10 (required_plugins): only formatting checked", strings.TrimSpace(string(ver)))
		return
	}
	out, err = exec.Command("packer", "validate", "-syntax-only", "../../images/gce").CombinedOutput()
	if err != nil {
		t.Errorf("packer validate -syntax-only images/gce: %v\n%s", err, out)
	}
}
