package gce

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
	"github.com/agentcloud/agentcloud/providers/gce/gcefake"
)

// metadataValue returns a metadata item of a fake instance.
func metadataValue(in gcefake.Instance, key string) (string, bool) {
	if in.Metadata == nil {
		return "", false
	}
	for _, it := range in.Metadata.Items {
		if it.Key == key && it.Value != nil {
			return *it.Value, true
		}
	}
	return "", false
}

func TestCreateBuildsTheInstance(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	r := req("agent-1", map[string]string{
		"disk_size_gb":            "30",
		"disk_type":               "pd-ssd",
		"subnetwork":              "agents",
		"external_ip":             "true",
		"service_account":         "agent@proj.iam.gserviceaccount.com",
		"scopes":                  "logging.write, monitoring.write",
		"tags":                    "ci-agent",
		"metadata.enable-oslogin": "TRUE",
		"labels.Team":             "Build Infra",
	})
	r.Owner, r.Installation, r.Pool = "cloudmgr-Prod", "ACME Corp", "Linux.Build"
	r.Offering = providers.Offering{Zone: "us-central1-b", MachineType: "e2-standard-4"}
	r.Env["AGENTCLOUD_TOKEN"] = "s3cr3t value"
	got := mustCreate(t, p, r)[0]
	if got.ID != "us-central1-b/agent-1" || got.State != providers.StateRunning {
		t.Errorf("Create returned %+v, want id us-central1-b/agent-1, running", got)
	}

	in, ok := e.fake.Instance("us-central1-b", "agent-1")
	if !ok {
		t.Fatal("no instance in the fake")
	}
	wantLabels := map[string]string{
		providers.LabelOwner: "cloudmgr-prod", providers.LabelInstallation: "acme-corp", providers.LabelPool: "linux-build", "team": "build-infra",
	}
	for k, v := range wantLabels {
		if in.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, in.Labels[k], v, in.Labels)
		}
	}
	if ms, err := strconv.ParseInt(in.Labels[LabelCreatedAt], 10, 64); err != nil || !time.UnixMilli(ms).Equal(got.CreatedAt) {
		t.Errorf("label %s = %q, want the Unix milliseconds of CreatedAt %v", LabelCreatedAt, in.Labels[LabelCreatedAt], got.CreatedAt)
	}
	for k, v := range map[string]string{metaOwner: "cloudmgr-Prod", metaInstallation: "ACME Corp", metaPool: "Linux.Build", "enable-oslogin": "TRUE"} {
		if got, _ := metadataValue(in, k); got != v {
			t.Errorf("metadata %s = %q, want %q", k, got, v)
		}
	}
	env, _ := metadataValue(in, MetadataEnv)
	for _, line := range []string{"AGENTCLOUD_AGENT_ID='agent-1'", "AGENTCLOUD_TOKEN='s3cr3t value'", "AGENTCLOUD_INSTANCE='us-central1-b/agent-1'"} {
		if !strings.Contains(env, line+"\n") {
			t.Errorf("agentcloud-env lacks %q:\n%s", line, env)
		}
	}
	if s, _ := metadataValue(in, MetadataStartupScript); s != startupScript {
		t.Error("startup-script metadata is not the provider's startup script")
	}
	if !strings.HasSuffix(in.MachineType, "/zones/us-central1-b/machineTypes/e2-standard-4") {
		t.Errorf("machine type %q", in.MachineType)
	}
	if ni := in.NetworkInterfaces; len(ni) != 1 || !strings.HasSuffix(ni[0].Subnetwork, "/regions/us-central1/subnetworks/agents") || len(ni[0].AccessConfigs) != 1 {
		t.Errorf("network interfaces %+v, want subnetwork agents in us-central1 with an external address", ni)
	}
	if sa := in.ServiceAccounts; len(sa) != 1 || sa[0].Email != "agent@proj.iam.gserviceaccount.com" ||
		!slices.Equal(sa[0].Scopes, []string{"https://www.googleapis.com/auth/logging.write", "https://www.googleapis.com/auth/monitoring.write"}) {
		t.Errorf("service accounts %+v", sa)
	}
	if in.Tags == nil || !slices.Equal(in.Tags.Items, []string{"ci-agent"}) {
		t.Errorf("tags %+v", in.Tags)
	}
	if len(in.Disks) != 1 || !in.Disks[0].Boot || !in.Disks[0].AutoDelete {
		t.Fatalf("disks %+v, want one auto-delete boot disk", in.Disks)
	}
	d, ok := e.fake.Disk("us-central1-b", "agent-1")
	if !ok {
		t.Fatal("no boot disk named after the instance")
	}
	if d.SizeGb != 30 || !strings.HasSuffix(d.Type, "/diskTypes/pd-ssd") || d.Labels[providers.LabelPool] != "linux-build" || !strings.HasSuffix(d.SourceImage, testImage) {
		t.Errorf("boot disk %+v", d)
	}
	spec, err := decodeSpec(d.Description)
	if err != nil {
		t.Fatalf("the boot disk's recreate spec: %v", err)
	}
	if spec.instance.GetName() != "agent-1" || !spec.startupScript || len(spec.instance.GetDisks()) != 0 {
		t.Errorf("recreate spec: name %q, startup script %v, %d disks", spec.instance.GetName(), spec.startupScript, len(spec.instance.GetDisks()))
	}

	listedIn, ok := listed(t, p, "cloudmgr-Prod", got.ID)
	if !ok {
		t.Fatal("List does not show the instance")
	}
	if listedIn.Owner != "cloudmgr-Prod" || listedIn.Installation != "ACME Corp" || listedIn.Pool != "Linux.Build" ||
		listedIn.Labels[providers.LabelPool] != "Linux.Build" || listedIn.Offering != r.Offering {
		t.Errorf("listed %+v: want the exact owner, installation and pool, and the offering %v", listedIn, r.Offering)
	}
	if insts, _ := p.List(ctx(t), "cloudmgr-prod"); len(insts) != 0 {
		t.Errorf("List(cloudmgr-prod) shows %d instances of cloudmgr-Prod, whose label sanitises the same", len(insts))
	}
}

func TestCreateFromTemplate(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	e.fake.AddTemplate("agents", gcefake.Template{MachineType: "e2-medium", SourceImage: "global/images/agent-1", Network: "ci"})
	p := e.provider()
	r := req("tpl-1", map[string]string{"instance_template": "global/instanceTemplates/agents"})
	delete(r.Settings, "machine_type")
	r.Image = ""
	got := mustCreate(t, p, r)[0]
	if got.Offering.MachineType != "e2-medium" {
		t.Errorf("machine type %q, want the template's e2-medium", got.Offering.MachineType)
	}
	in, _ := e.fake.Instance(got.Offering.Zone, "tpl-1")
	if len(in.NetworkInterfaces) != 1 || !strings.HasSuffix(in.NetworkInterfaces[0].Network, "/global/networks/ci") {
		t.Errorf("network %+v, want the template's", in.NetworkInterfaces)
	}
	// Without the pool's image the boot disk carries no recreate spec:
	// delete-keep-disk refuses rather than lose the machine.
	ids, err := p.Suspend(ctx(t), SuspendDeleteKeepDisk, []string{got.ID})
	if len(ids) != 0 || !providers.IsNotSupported(err) {
		t.Errorf("Suspend(delete-keep-disk) of a template machine = %v, %v; want a not-supported error", ids, err)
	}
	if _, ok := e.fake.Instance(got.Offering.Zone, "tpl-1"); !ok {
		t.Error("the refused suspend deleted the instance")
	}
	// With an image, a template pool keeps its boot disk under control.
	r2 := req("tpl-2", map[string]string{"instance_template": "agents"})
	delete(r2.Settings, "machine_type")
	got2 := mustCreate(t, p, r2)[0]
	if _, err := p.Suspend(ctx(t), SuspendDeleteKeepDisk, []string{got2.ID}); err != nil {
		t.Fatalf("Suspend(delete-keep-disk) of a template machine with an image: %v", err)
	}
	if _, err := p.Resume(ctx(t), []string{got2.ID}); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if in, ok := e.fake.Instance(got2.Offering.Zone, "tpl-2"); !ok || in.Status != gcefake.StatusRunning || !strings.HasSuffix(in.NetworkInterfaces[0].Network, "/global/networks/ci") {
		t.Errorf("recreated from the template: %+v (exists %v)", in, ok)
	}
}

func TestSuspendModesInTheCloud(t *testing.T) {
	for _, tc := range []struct {
		mode   providers.SuspendMode
		status string // the instance's status while suspended; "" = deleted
	}{
		{providers.SuspendStop, gcefake.StatusTerminated},
		{providers.SuspendSuspend, gcefake.StatusSuspended},
		{SuspendDeleteKeepDisk, ""},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			e := newTestEnv(t, gcefake.Config{})
			p := e.provider()
			created := mustCreate(t, p, req("vm-1", nil))[0]
			zone := created.Offering.Zone
			if ids, err := p.Suspend(ctx(t), tc.mode, []string{created.ID}); err != nil || len(ids) != 1 {
				t.Fatalf("Suspend = %v, %v", ids, err)
			}
			in, exists := e.fake.Instance(zone, "vm-1")
			d, diskExists := e.fake.Disk(zone, "vm-1")
			switch {
			case tc.status != "":
				if !exists || in.Status != tc.status || in.Labels[providers.LabelSuspendedAt] == "" {
					t.Errorf("suspended instance %+v (exists %v), want %s with the suspended-at label", in, exists, tc.status)
				}
			default:
				if exists {
					t.Errorf("delete-keep-disk left the instance (%s)", in.Status)
				}
				if !diskExists || len(d.Users) != 0 || d.Labels[providers.LabelSuspendedAt] == "" || d.Labels[providers.LabelOwner] != "me" {
					t.Errorf("kept disk %+v (exists %v), want detached, with owner and suspended-at labels", d, diskExists)
				}
			}
			s, ok := listed(t, p, "me", created.ID)
			if !ok || s.State != providers.StateSuspended || s.SuspendedAt.IsZero() || s.Pool != "pool" || s.Offering.MachineType != "e2-small" {
				t.Errorf("listed while suspended: %+v (shown %v)", s, ok)
			}
			// Suspending again is a no-op success.
			if ids, err := p.Suspend(ctx(t), tc.mode, []string{created.ID}); err != nil || len(ids) != 1 {
				t.Errorf("second Suspend = %v, %v; want success", ids, err)
			}

			if ids, err := p.Resume(ctx(t), []string{created.ID}); err != nil || len(ids) != 1 {
				t.Fatalf("Resume = %v, %v", ids, err)
			}
			in, _ = e.fake.Instance(zone, "vm-1")
			if in.Status != gcefake.StatusRunning || in.Labels[providers.LabelSuspendedAt] != "" || in.Labels[LabelResumedAt] == "" {
				t.Errorf("resumed instance: status %s, labels %v", in.Status, in.Labels)
			}
			d, _ = e.fake.Disk(zone, "vm-1")
			if d.Labels[providers.LabelSuspendedAt] != "" || len(d.Users) != 1 {
				t.Errorf("resumed machine's disk: labels %v, users %v; want no suspended-at label, attached", d.Labels, d.Users)
			}
			r, _ := listed(t, p, "me", created.ID)
			if r.State != providers.StateRunning || !r.CreatedAt.Equal(created.CreatedAt) || !r.StartedAt.After(created.StartedAt) {
				t.Errorf("listed after resume: %+v; want running, CreatedAt %v kept, StartedAt after %v", r, created.CreatedAt, created.StartedAt)
			}

			if _, err := p.Suspend(ctx(t), tc.mode, []string{created.ID}); err != nil {
				t.Fatalf("Suspend before Destroy: %v", err)
			}
			if ids, err := p.Destroy(ctx(t), []string{created.ID}); err != nil || len(ids) != 1 {
				t.Fatalf("Destroy = %v, %v", ids, err)
			}
			if n, m := e.fake.InstanceCount(), e.fake.DiskCount(); n != 0 || m != 0 {
				t.Errorf("after Destroy of a suspended machine: %d instances, %d disks; want none", n, m)
			}
		})
	}
}

func TestRestartedProviderTakesOver(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	old := e.provider()
	insts := mustCreate(t, old, req("run", nil), req("stopped", nil), req("kept", nil), req("frozen", nil))
	byName := map[string]providers.Instance{}
	for _, in := range insts {
		byName[in.Name] = in
	}
	for name, mode := range map[string]providers.SuspendMode{"stopped": providers.SuspendStop, "kept": SuspendDeleteKeepDisk, "frozen": providers.SuspendSuspend} {
		if _, err := old.Suspend(ctx(t), mode, []string{byName[name].ID}); err != nil {
			t.Fatalf("Suspend(%s): %v", name, err)
		}
	}

	p := e.provider() // cloudmgr restarted
	got, err := p.List(ctx(t), "me")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]providers.State{}
	for _, in := range got {
		states[in.Name] = in.State
		if in.Pool != "pool" || in.Installation != "inst" || in.ID != byName[in.Name].ID {
			t.Errorf("after restart %s = %+v", in.Name, in)
		}
	}
	want := map[string]providers.State{"run": providers.StateRunning, "stopped": providers.StateSuspended, "kept": providers.StateSuspended, "frozen": providers.StateSuspended}
	if len(states) != len(want) {
		t.Fatalf("List after restart shows %v, want %v", states, want)
	}
	for n, s := range want {
		if states[n] != s {
			t.Errorf("%s is %s after restart, want %s", n, states[n], s)
		}
	}
	// Creating the running name again adopts it.
	if again := mustCreate(t, p, req("run", nil))[0]; again.ID != byName["run"].ID {
		t.Errorf("Create(run) after restart gave %s", again.ID)
	}
	// Creating a kept machine's name adopts the kept disk: no new VM.
	if again := mustCreate(t, p, req("kept", nil))[0]; again.ID != byName["kept"].ID || again.State != providers.StateSuspended {
		t.Errorf("Create(kept) after restart gave %+v, want the suspended kept machine", again)
	}
	ids := []string{byName["stopped"].ID, byName["kept"].ID, byName["frozen"].ID}
	if ok, err := p.Resume(ctx(t), ids); err != nil || len(ok) != 3 {
		t.Fatalf("Resume after restart = %v, %v", ok, err)
	}
	for _, id := range ids {
		if in, _ := listed(t, p, "me", id); in.State != providers.StateRunning {
			t.Errorf("%s is %s after Resume, want running", id, in.State)
		}
	}
	all := append(ids, byName["run"].ID)
	if ok, err := p.Destroy(ctx(t), all); err != nil || len(ok) != 4 {
		t.Fatalf("Destroy = %v, %v", ok, err)
	}
	if n, m := e.fake.InstanceCount(), e.fake.DiskCount(); n != 0 || m != 0 {
		t.Errorf("after Destroy: %d instances, %d disks left", n, m)
	}
}

func TestCreateRefusesAnotherOwnersName(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	mustCreate(t, p, req("shared", nil))
	r := req("shared", nil)
	r.Owner = "someone-else"
	insts, err := p.Create(ctx(t), []providers.CreateRequest{r})
	if len(insts) != 0 || err == nil || !strings.Contains(err.Error(), `owner "me"`) {
		t.Errorf("Create of another owner's name = %v, %v; want an error naming the owner", insts, err)
	}
}

func TestSuspendRefusesMachinesThatAreNotOurs(t *testing.T) {
	e := newTestEnv(t, gcefake.Config{})
	p := e.provider()
	// An instance made by hand, without our labels.
	r := req("by-hand", nil)
	body, err := p.instanceBody(r, "us-central1-a", "e2-small", poolSettings{startupScript: true})
	if err != nil {
		t.Fatal(err)
	}
	body.Labels = nil
	op, err := p.api.insertInstance(ctx(t), "us-central1-a", body, "", requestID("x", "us-central1-a", "by-hand", "test", 0))
	if err == nil {
		_, err = p.wait(ctx(t), "us-central1-a", op)
	}
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() ([]string, error){
		"Suspend": func() ([]string, error) {
			return p.Suspend(ctx(t), providers.SuspendStop, []string{"us-central1-a/by-hand"})
		},
		"Resume": func() ([]string, error) { return p.Resume(ctx(t), []string{"us-central1-a/by-hand"}) },
	} {
		if ids, err := call(); len(ids) != 0 || !providers.IsNotFound(err) {
			t.Errorf("%s of an unlabelled instance = %v, %v; want a not-found error", name, ids, err)
		}
	}
	if in, _ := e.fake.Instance("us-central1-a", "by-hand"); in.Status != gcefake.StatusRunning {
		t.Errorf("the unlabelled instance is %s", in.Status)
	}
}
