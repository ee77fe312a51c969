package gcefake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// testInstance is a minimal valid insert body.
func testInstance(name, zone string, labels map[string]string) Instance {
	return Instance{
		Name: name, MachineType: "zones/" + zone + "/machineTypes/e2-small", Labels: labels,
		NetworkInterfaces: []NetworkInterface{{Network: "global/networks/default"}},
		Disks: []AttachedDisk{{Boot: true, AutoDelete: true, InitializeParams: &AttachedDiskInitializeParams{
			SourceImage: "projects/debian-cloud/global/images/family/debian-12",
		}}},
	}
}

// start returns a fake and a client for it.
func start(t *testing.T, cfg Config) (*Server, *client) {
	t.Helper()
	s := New(cfg)
	t.Cleanup(s.Close)
	return s, &client{t: t, base: s.URL() + "/compute/v1/projects/" + s.Project()}
}

// decodeOp decodes an operation answer.
func decodeOp(t *testing.T, b []byte) Operation {
	t.Helper()
	var o Operation
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return o
}

// waitOp waits for an operation through zoneOperations.wait.
func waitOp(t *testing.T, c *client, zone string, op Operation) Operation {
	t.Helper()
	st, b := c.do("POST", "/zones/"+zone+"/operations/"+op.Name+"/wait", nil)
	if st != http.StatusOK {
		t.Fatalf("wait: HTTP %d %s", st, b)
	}
	return decodeOp(t, b)
}

func TestFilterParsing(t *testing.T) {
	labels := map[string]string{"agentcloud-owner": "me", "env": "ci"}
	get := resourceField("vm-1", "RUNNING", labels)
	tests := []struct {
		filter  string
		match   bool
		wantErr string
	}{
		{``, true, ""},
		{`labels.agentcloud-owner = "me"`, true, ""},
		{`labels.agentcloud-owner = "you"`, false, ""},
		{`labels.agentcloud-owner="me"`, true, ""},
		{`labels.agentcloud-owner = me`, true, ""},
		{`(labels.agentcloud-owner = "me") (labels.env = "ci")`, true, ""},
		{`(labels.agentcloud-owner = "me") AND (labels.env = "prod")`, false, ""},
		{`labels.env:*`, true, ""},
		{`labels.missing:*`, false, ""},
		{`name != vm-1`, false, ""},
		{`status = "RUNNING"`, true, ""},
		{`name eq 'vm-.*'`, true, ""},
		{`name ne "vm-.*"`, false, ""},
		{`name eq vm`, false, ""},
		{`(name eq vm-.*) (labels.env = ci)`, false, "cannot be mixed"},
		{`(labels.a = "1") OR (labels.b = "2")`, false, "OR is not supported"},
		{`labels.a > 1`, false, "unsupported operator"},
		{`labels.a = "unterminated`, false, "unterminated"},
		{`(labels.a = "1"`, false, "missing ')'"},
	}
	for _, tc := range tests {
		f, err := parseFilter(tc.filter)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseFilter(%q) error = %v, want one containing %q", tc.filter, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("parseFilter(%q): %v", tc.filter, err)
		case f.match(get) != tc.match:
			t.Errorf("filter %q matches = %v, want %v", tc.filter, !tc.match, tc.match)
		}
	}
}

func TestRequestIDDeduplicatesInserts(t *testing.T) {
	s, c := start(t, Config{})
	const id = "0b6c5f7e-1111-4222-8333-944455556666"
	st, b := c.do("POST", "/zones/us-central1-a/instances?requestId="+id, testInstance("vm-1", "us-central1-a", nil))
	if st != http.StatusOK {
		t.Fatalf("insert: HTTP %d %s", st, b)
	}
	first := decodeOp(t, b)
	// Same requestId, another body: the API answers with the first operation.
	st, b = c.do("POST", "/zones/us-central1-a/instances?requestId="+id, testInstance("vm-2", "us-central1-a", nil))
	if st != http.StatusOK || decodeOp(t, b).Name != first.Name {
		t.Fatalf("second insert with the same requestId: HTTP %d %s; want operation %s", st, b, first.Name)
	}
	if n, d := s.InstanceCount(), s.Deduplicated(); n != 1 || d != 1 {
		t.Errorf("%d instances and %d deduplicated calls after two inserts with one requestId, want 1 and 1", n, d)
	}
	st, b = c.do("POST", "/zones/us-central1-a/instances?requestId=not-a-uuid", testInstance("vm-3", "us-central1-a", nil))
	if st != http.StatusBadRequest || !strings.Contains(string(b), "requestId") {
		t.Errorf("insert with a bad requestId: HTTP %d %s, want 400 naming requestId", st, b)
	}
}

func TestRequestIDIsForgottenAfterTTL(t *testing.T) {
	s, c := start(t, Config{RequestIDTTL: 30 * time.Millisecond})
	const id = "0b6c5f7e-1111-4222-8333-944455556666"
	c.do("POST", "/zones/us-central1-a/instances?requestId="+id, testInstance("vm-1", "us-central1-a", nil))
	time.Sleep(40 * time.Millisecond)
	c.do("POST", "/zones/us-central1-a/instances?requestId="+id, testInstance("vm-2", "us-central1-a", nil))
	if n := s.InstanceCount(); n != 2 {
		t.Errorf("%d instances, want 2: a requestId past its TTL is new again", n)
	}
}

func TestStatusesChangeOverTime(t *testing.T) {
	s, c := start(t, Config{Delays: Delays{OpPending: 100 * time.Millisecond, Provisioning: 150 * time.Millisecond, Staging: 150 * time.Millisecond, Stopping: 150 * time.Millisecond}})
	_, b := c.do("POST", "/zones/us-central1-a/instances", testInstance("vm-1", "us-central1-a", nil))
	op := decodeOp(t, b)
	if op.Status != OpPending {
		t.Errorf("a new operation is %s, want PENDING", op.Status)
	}
	var statuses, opStatuses []string
	for {
		in, _ := s.Instance("us-central1-a", "vm-1")
		if len(statuses) == 0 || statuses[len(statuses)-1] != in.Status {
			statuses = append(statuses, in.Status)
		}
		_, b := c.do("GET", "/zones/us-central1-a/operations/"+op.Name, nil)
		o := decodeOp(t, b)
		if len(opStatuses) == 0 || opStatuses[len(opStatuses)-1] != o.Status {
			opStatuses = append(opStatuses, o.Status)
		}
		if o.Status == OpDone {
			break
		}
		time.Sleep(3 * time.Millisecond)
	}
	if in, _ := s.Instance("us-central1-a", "vm-1"); statuses[len(statuses)-1] != in.Status {
		statuses = append(statuses, in.Status)
	}
	if want := []string{StatusProvisioning, StatusStaging, StatusRunning}; !slices.Equal(statuses, want) {
		t.Errorf("insert went through %v, want %v", statuses, want)
	}
	if want := []string{OpPending, OpRunning, OpDone}; !slices.Equal(opStatuses, want) {
		t.Errorf("the operation went through %v, want %v", opStatuses, want)
	}
	if in, _ := s.Instance("us-central1-a", "vm-1"); in.LastStartTimestamp == "" {
		t.Error("a running instance has no lastStartTimestamp")
	}

	_, b = c.do("POST", "/zones/us-central1-a/instances/vm-1/stop", nil)
	statuses = nil
	deadline := time.Now().Add(10 * time.Second)
	for len(statuses) == 0 || statuses[len(statuses)-1] != StatusTerminated {
		if time.Now().After(deadline) {
			t.Fatalf("no TERMINATED after 10s; statuses seen %v", statuses)
		}
		in, _ := s.Instance("us-central1-a", "vm-1")
		if len(statuses) == 0 || statuses[len(statuses)-1] != in.Status {
			statuses = append(statuses, in.Status)
		}
		time.Sleep(3 * time.Millisecond)
	}
	if want := []string{StatusRunning, StatusStopping, StatusTerminated}; !slices.Equal(statuses, want) {
		t.Errorf("stop went through %v, want %v", statuses, want)
	}
	if o := waitOp(t, c, "us-central1-a", decodeOp(t, b)); o.Status != OpDone || o.EndTime == "" {
		t.Errorf("wait answered %+v, want DONE with an endTime", o)
	}
	if in, _ := s.Instance("us-central1-a", "vm-1"); in.Status != StatusTerminated || in.LastStopTimestamp == "" {
		t.Errorf("after stop the instance is %s (lastStop %q), want TERMINATED with lastStopTimestamp", in.Status, in.LastStopTimestamp)
	}
	st, b := c.do("POST", "/zones/us-central1-a/instances/vm-1/suspend", nil)
	if st != http.StatusBadRequest {
		t.Errorf("suspending a TERMINATED instance: HTTP %d %s, want 400", st, b)
	}
}

func TestWaitTimesOutWithTheOperationAsItIs(t *testing.T) {
	_, c := start(t, Config{WaitTimeout: 20 * time.Millisecond, Delays: Delays{Provisioning: time.Second}})
	_, b := c.do("POST", "/zones/us-central1-a/instances", testInstance("vm-1", "us-central1-a", nil))
	if o := waitOp(t, c, "us-central1-a", decodeOp(t, b)); o.Status == OpDone {
		t.Errorf("wait answered DONE for an operation that takes a second, with a 20ms wait timeout")
	}
}

func TestAggregatedListPagesAndFilters(t *testing.T) {
	s, c := start(t, Config{})
	for i, z := range []string{"us-central1-a", "us-central1-b", "us-central1-a", "us-central1-b", "us-central1-a"} {
		c.do("POST", "/zones/"+z+"/instances", testInstance("mine-"+string(rune('a'+i)), z, map[string]string{"agentcloud-owner": "me"}))
	}
	c.do("POST", "/zones/us-central1-a/instances", testInstance("theirs", "us-central1-a", map[string]string{"agentcloud-owner": "you"}))
	s.ResetCalls()

	var names []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("more than 5 pages")
		}
		path := "/aggregated/instances?maxResults=2&filter=labels.agentcloud-owner%20%3D%20%22me%22"
		if token != "" {
			path += "&pageToken=" + token
		}
		st, b := c.do("GET", path, nil)
		if st != http.StatusOK {
			t.Fatalf("aggregatedList: HTTP %d %s", st, b)
		}
		var l instanceAggregatedList
		_ = json.Unmarshal(b, &l)
		if len(l.Items) != 3 {
			t.Errorf("page %d has %d scopes, want one per zone (3)", pages, len(l.Items))
		}
		for scope, sc := range l.Items {
			if len(sc.Instances) == 0 && (sc.Warning == nil || sc.Warning.Code != "NO_RESULTS_ON_PAGE") {
				t.Errorf("empty scope %s has no NO_RESULTS_ON_PAGE warning", scope)
			}
			for _, in := range sc.Instances {
				names = append(names, in.Name)
			}
		}
		if token = l.NextPageToken; token == "" {
			break
		}
	}
	slices.Sort(names)
	if want := []string{"mine-a", "mine-b", "mine-c", "mine-d", "mine-e"}; !slices.Equal(names, want) {
		t.Errorf("listed %v, want %v", names, want)
	}
	if n := s.Calls("compute.instances.aggregatedList"); n != 3 {
		t.Errorf("%d aggregatedList calls for 5 instances in pages of 2, want 3", n)
	}
	if st, _ := c.do("GET", "/aggregated/instances?maxResults=501", nil); st != http.StatusBadRequest {
		t.Errorf("maxResults=501: HTTP %d, want 400", st)
	}
	if st, _ := c.do("GET", "/aggregated/instances?pageToken=bogus", nil); st != http.StatusBadRequest {
		t.Errorf("a bad pageToken: HTTP %d, want 400", st)
	}
	s.SetUnreachable("us-central1-b", true)
	_, b := c.do("GET", "/aggregated/instances", nil)
	var l instanceAggregatedList
	_ = json.Unmarshal(b, &l)
	if !slices.Equal(l.Unreachables, []string{"zones/us-central1-b"}) || len(l.Items["zones/us-central1-b"].Instances) != 0 {
		t.Errorf("with us-central1-b unreachable: unreachables %v, its scope %+v", l.Unreachables, l.Items["zones/us-central1-b"])
	}
}

func TestLabelsNeedTheCurrentFingerprint(t *testing.T) {
	s, c := start(t, Config{})
	_, b := c.do("POST", "/zones/us-central1-a/instances", testInstance("vm-1", "us-central1-a", map[string]string{"a": "1"}))
	waitOp(t, c, "us-central1-a", decodeOp(t, b))
	in, _ := s.Instance("us-central1-a", "vm-1")
	st, _ := c.do("POST", "/zones/us-central1-a/instances/vm-1/setLabels", labelsRequest{Labels: map[string]string{"a": "2"}, LabelFingerprint: "stale"})
	if st != http.StatusPreconditionFailed {
		t.Errorf("setLabels with a stale fingerprint: HTTP %d, want 412", st)
	}
	st, _ = c.do("POST", "/zones/us-central1-a/instances/vm-1/setLabels", labelsRequest{Labels: map[string]string{"A": "2"}, LabelFingerprint: in.LabelFingerprint})
	if st != http.StatusBadRequest {
		t.Errorf("setLabels with an upper-case key: HTTP %d, want 400", st)
	}
	_, b = c.do("POST", "/zones/us-central1-a/instances/vm-1/setLabels", labelsRequest{Labels: map[string]string{"a": "2"}, LabelFingerprint: in.LabelFingerprint})
	waitOp(t, c, "us-central1-a", decodeOp(t, b))
	if got, _ := s.Instance("us-central1-a", "vm-1"); got.Labels["a"] != "2" || got.LabelFingerprint == in.LabelFingerprint {
		t.Errorf("after setLabels: labels %v fingerprint %q (was %q)", got.Labels, got.LabelFingerprint, in.LabelFingerprint)
	}
}

func TestDeleteKeepsDisksThatAreNotAutoDelete(t *testing.T) {
	s, c := start(t, Config{})
	_, b := c.do("POST", "/zones/us-central1-a/instances", testInstance("vm-1", "us-central1-a", nil))
	waitOp(t, c, "us-central1-a", decodeOp(t, b))
	if st, body := c.do("DELETE", "/zones/us-central1-a/disks/vm-1", nil); st != http.StatusBadRequest || !strings.Contains(string(body), "resourceInUseByAnotherResource") {
		t.Errorf("deleting an attached disk: HTTP %d %s, want 400 resourceInUseByAnotherResource", st, body)
	}
	_, b = c.do("POST", "/zones/us-central1-a/instances/vm-1/setDiskAutoDelete?autoDelete=false&deviceName=persistent-disk-0", nil)
	waitOp(t, c, "us-central1-a", decodeOp(t, b))
	_, b = c.do("DELETE", "/zones/us-central1-a/instances/vm-1", nil)
	waitOp(t, c, "us-central1-a", decodeOp(t, b))
	d, ok := s.Disk("us-central1-a", "vm-1")
	if !ok || len(d.Users) != 0 || d.LastDetachTimestamp == "" {
		t.Fatalf("after deleting the instance the disk is %+v (exists %v), want kept and detached", d, ok)
	}
	// An instance can be created again on the kept disk.
	in := testInstance("vm-1", "us-central1-a", nil)
	in.Disks = []AttachedDisk{{Boot: true, Source: d.SelfLink}}
	_, b = c.do("POST", "/zones/us-central1-a/instances", in)
	if o := waitOp(t, c, "us-central1-a", decodeOp(t, b)); o.Error != nil {
		t.Fatalf("recreating on the kept disk: %+v", o.Error)
	}
	// A second instance on the same disk fails in its operation.
	in.Name = "vm-2"
	_, b = c.do("POST", "/zones/us-central1-a/instances", in)
	o := waitOp(t, c, "us-central1-a", decodeOp(t, b))
	if o.Error == nil || o.Error.Errors[0].Code != "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE" {
		t.Errorf("a second instance on an attached disk: operation error %+v", o.Error)
	}
}

func TestFaults(t *testing.T) {
	s, c := start(t, Config{})
	s.Inject(RateLimited("compute.instances.get"))
	s.Inject(Fault{Method: "compute.instances.insert", MachineType: "n2-standard-4", OpErrorCode: "QUOTA_EXCEEDED", OpErrorMessage: "Quota 'N2_CPUS' exceeded."})
	s.Inject(Fault{Method: "compute.instances.list", Times: 1, HTTPStatus: http.StatusServiceUnavailable})

	st, b := c.do("GET", "/zones/us-central1-a/instances/x", nil)
	if st != http.StatusTooManyRequests || !strings.Contains(string(b), "rateLimitExceeded") {
		t.Errorf("rate-limited get: HTTP %d %s", st, b)
	}
	st, _ = c.do("GET", "/zones/us-central1-a/instances", nil)
	st2, _ := c.do("GET", "/zones/us-central1-a/instances", nil)
	if st != http.StatusServiceUnavailable || st2 != http.StatusOK {
		t.Errorf("a one-time 503 on list: HTTP %d then %d, want 503 then 200", st, st2)
	}

	in := testInstance("vm-n2", "us-central1-a", nil)
	in.MachineType = "zones/us-central1-a/machineTypes/n2-standard-4"
	_, b = c.do("POST", "/zones/us-central1-a/instances", in)
	o := waitOp(t, c, "us-central1-a", decodeOp(t, b))
	if o.Error == nil || o.Error.Errors[0].Code != "QUOTA_EXCEEDED" || o.HTTPErrorStatusCode != 0 {
		t.Errorf("n2 insert: operation %+v, want DONE with QUOTA_EXCEEDED and no httpErrorStatusCode", o)
	}
	if _, ok := s.Instance("us-central1-a", "vm-n2"); ok {
		t.Error("an insert whose operation failed created the instance")
	}
	_, b = c.do("POST", "/zones/us-central1-a/instances", testInstance("vm-e2", "us-central1-a", nil))
	if o := waitOp(t, c, "us-central1-a", decodeOp(t, b)); o.Error != nil {
		t.Errorf("e2 insert (no fault for its machine type) failed: %+v", o.Error)
	}

	s.Inject(ZoneExhausted("us-central1-b"))
	_, b = c.do("POST", "/zones/us-central1-b/instances", testInstance("vm-b", "us-central1-b", nil))
	o = waitOp(t, c, "us-central1-b", decodeOp(t, b))
	if o.Error == nil || o.Error.Errors[0].Code != "ZONE_RESOURCE_POOL_EXHAUSTED" || o.HTTPErrorStatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(o.Error.Errors[0].Message, "projects/"+s.Project()+"/zones/us-central1-b") {
		t.Errorf("stockout insert: operation %+v", o)
	}
}

func TestInsertValidation(t *testing.T) {
	_, c := start(t, Config{})
	bad := func(mod func(*Instance)) Instance {
		in := testInstance("vm-1", "us-central1-a", nil)
		mod(&in)
		return in
	}
	for _, tc := range []struct {
		name string
		in   Instance
		want string
	}{
		{"upper-case name", bad(func(in *Instance) { in.Name = "VM" }), "resource.name"},
		{"unknown machine type", bad(func(in *Instance) { in.MachineType = "zones/us-central1-a/machineTypes/huge" }), "does not exist"},
		{"bad label value", bad(func(in *Instance) { in.Labels = map[string]string{"a": "B C"} }), "Label values"},
		{"no network", bad(func(in *Instance) { in.NetworkInterfaces = nil }), "network interface"},
		{"no boot disk", bad(func(in *Instance) { in.Disks[0].Boot = false }), "boot disk"},
		{"bad metadata key", bad(func(in *Instance) { in.Metadata = &Metadata{Items: []MetadataItem{{Key: "a b"}}} }), "metadata"},
	} {
		st, b := c.do("POST", "/zones/us-central1-a/instances", tc.in)
		if st != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: HTTP %d %s, want 400 mentioning %q", tc.name, st, b, tc.want)
		}
	}
	if st, _ := c.do("POST", "/zones/mars-1-a/instances", testInstance("vm-1", "mars-1-a", nil)); st != http.StatusNotFound {
		t.Errorf("unknown zone: HTTP %d, want 404", st)
	}
	c.do("POST", "/zones/us-central1-a/instances", testInstance("vm-1", "us-central1-a", nil))
	if st, b := c.do("POST", "/zones/us-central1-a/instances", testInstance("vm-1", "us-central1-a", nil)); st != http.StatusConflict {
		t.Errorf("a taken name: HTTP %d %s, want 409", st, b)
	}
}
