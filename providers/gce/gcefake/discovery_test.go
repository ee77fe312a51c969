package gcefake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fake is checked against Google's discovery document of the Compute
// API, compute/v1/compute-api.json, which ships in the module
// google.golang.org/api. That module is a dependency of the provider
// (cloud.google.com/go/compute needs it, and the provider imports its
// option, googleapi and iterator packages), so go.mod pins it and it is in
// the module cache whenever the provider builds.

// discovery is the part of a discovery document the checks read.
type discovery struct {
	Revision  string                     `json:"revision"`
	Resources map[string]discoveryRes    `json:"resources"`
	Schemas   map[string]json.RawMessage `json:"schemas"`
}

type discoveryRes struct {
	Methods map[string]discoveryMethod `json:"methods"`
}

type discoveryMethod struct {
	ID         string                    `json:"id"`
	HTTPMethod string                    `json:"httpMethod"`
	FlatPath   string                    `json:"flatPath"`
	Path       string                    `json:"path"`
	Parameters map[string]discoveryParam `json:"parameters"`
	Response   struct {
		Ref string `json:"$ref"`
	} `json:"response"`
}

type discoveryParam struct {
	Location string `json:"location"`
	Type     string `json:"type"`
}

// schema is a discovery JSON schema.
type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Format               string             `json:"format"`
	Enum                 []string           `json:"enum"`
	Properties           map[string]*schema `json:"properties"`
	AdditionalProperties *schema            `json:"additionalProperties"`
	Items                *schema            `json:"items"`
}

var (
	docOnce sync.Once
	doc     *discovery
	docErr  error
	docPath string
)

// loadDiscovery finds compute-api.json through `go list -m -json
// google.golang.org/api` and parses it once.
func loadDiscovery(t *testing.T) *discovery {
	t.Helper()
	docOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-json", "google.golang.org/api").Output()
		if err != nil {
			docErr = fmt.Errorf("locating google.golang.org/api with `go list -m -json`: %v", err)
			return
		}
		var mod struct{ Dir, Version string }
		if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
			docErr = fmt.Errorf("google.golang.org/api %s is not in the module cache (run `go mod download google.golang.org/api`): %s", mod.Version, out)
			return
		}
		docPath = filepath.Join(mod.Dir, "compute", "v1", "compute-api.json")
		b, err := os.ReadFile(docPath)
		if err != nil {
			docErr = err
			return
		}
		doc = &discovery{}
		docErr = json.Unmarshal(b, doc)
	})
	if docErr != nil {
		t.Fatalf("loading the Compute discovery document: %v", docErr)
	}
	return doc
}

// method finds a method by its id ("compute.instances.insert").
func (d *discovery) method(id string) (discoveryMethod, bool) {
	parts := strings.Split(id, ".")
	if len(parts) != 3 {
		return discoveryMethod{}, false
	}
	m, ok := d.Resources[parts[1]].Methods[parts[2]]
	return m, ok && m.ID == id
}

// schema parses a named schema.
func (d *discovery) schema(t *testing.T, name string) *schema {
	t.Helper()
	raw, ok := d.Schemas[name]
	if !ok {
		t.Fatalf("the discovery document has no schema %q", name)
	}
	var s schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	return &s
}

func TestRoutesMatchDiscovery(t *testing.T) {
	d := loadDiscovery(t)
	t.Logf("discovery document %s (revision %s)", docPath, d.Revision)
	for _, rt := range routes() {
		m, ok := d.method(rt.id)
		if !ok {
			t.Errorf("%s: no such method in the discovery document", rt.id)
			continue
		}
		if m.HTTPMethod != rt.method {
			t.Errorf("%s: the fake serves %s, the API %s", rt.id, rt.method, m.HTTPMethod)
		}
		if m.FlatPath != rt.path && m.Path != rt.path {
			t.Errorf("%s: the fake serves path %q, the API %q", rt.id, rt.path, m.FlatPath)
		}
		for _, q := range rt.query {
			p, ok := m.Parameters[q]
			if !ok || p.Location != "query" {
				t.Errorf("%s: the fake reads query parameter %q, which the method does not have", rt.id, q)
			}
		}
		for _, seg := range strings.Split(rt.path, "/") {
			if strings.HasPrefix(seg, "{") {
				name := strings.Trim(seg, "{}")
				if p, ok := m.Parameters[name]; !ok || p.Location != "path" {
					t.Errorf("%s: path parameter %s is not a path parameter of the method", rt.id, name)
				}
			}
		}
		if m.Response.Ref != rt.response {
			t.Errorf("%s: the fake answers with %s, the API with %s", rt.id, rt.response, m.Response.Ref)
		}
	}
}

func TestStatusesMatchDiscovery(t *testing.T) {
	d := loadDiscovery(t)
	for _, c := range []struct {
		schema string
		values []string
	}{
		{"Instance", instanceStatuses},
		{"Disk", diskStatuses},
		{"Operation", opStatuses},
	} {
		enum := d.schema(t, c.schema).Properties["status"].Enum
		if len(enum) == 0 {
			t.Fatalf("%s.status has no enum in the discovery document", c.schema)
		}
		for _, v := range c.values {
			if !slices.Contains(enum, v) {
				t.Errorf("the fake emits %s.status %q, which is not in the API's enum %v", c.schema, v, enum)
			}
		}
	}
}

// TestAnswersMatchDiscovery drives every route over HTTP and checks every
// field of every answer (names, JSON types, int64-as-string, enum values)
// against the response schema of its method.
func TestAnswersMatchDiscovery(t *testing.T) {
	d := loadDiscovery(t)
	s := New(Config{})
	defer s.Close()
	s.SetUnreachable("europe-west1-b", true)
	s.Inject(ZoneExhausted("us-central1-b"))
	c := &client{t: t, base: s.URL() + "/compute/v1/projects/" + s.Project()}

	seen := map[string]bool{}
	check := func(id string, status int, body []byte) {
		t.Helper()
		if status != http.StatusOK {
			t.Fatalf("%s: HTTP %d: %s", id, status, body)
		}
		m, _ := d.method(id)
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		var problems []string
		validate(d, t, &schema{Ref: m.Response.Ref}, v, m.Response.Ref, &problems)
		for _, p := range problems {
			t.Errorf("%s answer: %s", id, p)
		}
		seen[id] = true
	}
	wait := func(zone string, op []byte) {
		t.Helper()
		var o Operation
		_ = json.Unmarshal(op, &o)
		st, b := c.do("POST", "/zones/"+zone+"/operations/"+o.Name+"/wait", nil)
		check("compute.zoneOperations.wait", st, b)
	}
	yes := true
	body := Instance{
		Name: "vm-1", MachineType: "zones/us-central1-a/machineTypes/e2-small",
		Labels:            map[string]string{"agentcloud-owner": "me"},
		Metadata:          &Metadata{Items: []MetadataItem{{Key: "k", Value: ptr("v")}}},
		Tags:              &Tags{Items: []string{"agent"}},
		Scheduling:        &Scheduling{AutomaticRestart: &yes, OnHostMaintenance: "MIGRATE"},
		ServiceAccounts:   []ServiceAccount{{Email: "a@p.iam.gserviceaccount.com", Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}}},
		NetworkInterfaces: []NetworkInterface{{Network: "global/networks/default", AccessConfigs: []AccessConfig{{Name: "External NAT", Type: "ONE_TO_ONE_NAT"}}}},
		Disks: []AttachedDisk{{Boot: true, AutoDelete: true, InitializeParams: &AttachedDiskInitializeParams{
			SourceImage: "projects/debian-cloud/global/images/family/debian-12", DiskSizeGb: 20, DiskType: "zones/us-central1-a/diskTypes/pd-balanced",
			Labels: map[string]string{"agentcloud-owner": "me"}, Description: "d",
		}}},
	}
	// The request body the fake decodes must be valid too.
	var reqDoc any
	b, _ := json.Marshal(body)
	_ = json.Unmarshal(b, &reqDoc)
	var problems []string
	validate(d, t, &schema{Ref: "Instance"}, reqDoc, "Instance (request)", &problems)
	for _, p := range problems {
		t.Errorf("insert request: %s", p)
	}

	st, op := c.do("POST", "/zones/us-central1-a/instances?requestId=8f7d2a4e-4c1b-4c2a-9d6e-0b1c2d3e4f50", body)
	check("compute.instances.insert", st, op)
	var o Operation
	_ = json.Unmarshal(op, &o)
	st, b = c.do("GET", "/zones/us-central1-a/operations/"+o.Name, nil)
	check("compute.zoneOperations.get", st, b)
	wait("us-central1-a", op)
	// A failed operation (stockout) for the error fields.
	failed := body
	failed.Name = "vm-2"
	failed.MachineType = "zones/us-central1-b/machineTypes/e2-small"
	st, op2 := c.do("POST", "/zones/us-central1-b/instances", failed)
	check("compute.instances.insert", st, op2)
	wait("us-central1-b", op2)

	for _, call := range []struct{ id, method, path string }{
		{"compute.instances.get", "GET", "/zones/us-central1-a/instances/vm-1"},
		{"compute.instances.list", "GET", "/zones/us-central1-a/instances?filter=labels.agentcloud-owner%20%3D%20%22me%22&maxResults=10"},
		{"compute.instances.aggregatedList", "GET", "/aggregated/instances?filter=labels.agentcloud-owner%20%3D%20%22me%22"},
		{"compute.disks.get", "GET", "/zones/us-central1-a/disks/vm-1"},
		{"compute.disks.list", "GET", "/zones/us-central1-a/disks"},
		{"compute.disks.aggregatedList", "GET", "/aggregated/disks"},
	} {
		st, b := c.do(call.method, call.path, nil)
		check(call.id, st, b)
	}
	for _, call := range []struct{ id, path string }{
		{"compute.instances.setLabels", "/zones/us-central1-a/instances/vm-1/setLabels"},
		{"compute.instances.setDiskAutoDelete", "/zones/us-central1-a/instances/vm-1/setDiskAutoDelete?autoDelete=false&deviceName=persistent-disk-0"},
		{"compute.instances.suspend", "/zones/us-central1-a/instances/vm-1/suspend"},
		{"compute.instances.resume", "/zones/us-central1-a/instances/vm-1/resume"},
		{"compute.instances.stop", "/zones/us-central1-a/instances/vm-1/stop"},
		{"compute.instances.start", "/zones/us-central1-a/instances/vm-1/start"},
	} {
		var reqBody any
		if call.id == "compute.instances.setLabels" {
			in, _ := s.Instance("us-central1-a", "vm-1")
			reqBody = labelsRequest{Labels: map[string]string{"a": "b"}, LabelFingerprint: in.LabelFingerprint}
		}
		st, op := c.do("POST", call.path, reqBody)
		check(call.id, st, op)
		wait("us-central1-a", op)
		// Check the instance in each status it passes.
		st, b := c.do("GET", "/zones/us-central1-a/instances/vm-1", nil)
		check("compute.instances.get", st, b)
	}
	st, op = c.do("DELETE", "/zones/us-central1-a/instances/vm-1", nil)
	check("compute.instances.delete", st, op)
	wait("us-central1-a", op)
	dk, _ := s.Disk("us-central1-a", "vm-1")
	st, op = c.do("POST", "/zones/us-central1-a/disks/vm-1/setLabels", labelsRequest{Labels: map[string]string{"x": "y"}, LabelFingerprint: dk.LabelFingerprint})
	check("compute.disks.setLabels", st, op)
	wait("us-central1-a", op)
	st, op = c.do("DELETE", "/zones/us-central1-a/disks/vm-1", nil)
	check("compute.disks.delete", st, op)
	wait("us-central1-a", op)

	for _, rt := range routes() {
		if !seen[rt.id] {
			t.Errorf("route %s was not exercised", rt.id)
		}
	}
}

// validate checks a decoded JSON value against a schema and appends problems.
func validate(d *discovery, t *testing.T, s *schema, v any, path string, problems *[]string) {
	if s.Ref != "" {
		validate(d, t, d.schema(t, s.Ref), v, path, problems)
		return
	}
	bad := func(format string, args ...any) {
		*problems = append(*problems, path+": "+fmt.Sprintf(format, args...))
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want an object, got %T", v)
			return
		}
		for k, sub := range m {
			switch ps, ok := s.Properties[k]; {
			case ok:
				validate(d, t, ps, sub, path+"."+k, problems)
			case s.AdditionalProperties != nil:
				validate(d, t, s.AdditionalProperties, sub, path+"["+k+"]", problems)
			default:
				bad("field %q is not in the schema", k)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("want an array, got %T", v)
			return
		}
		for i, sub := range a {
			validate(d, t, s.Items, sub, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want a string (format %q), got %T %v", s.Format, v, v)
			return
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			bad("%q is not in the enum %v", str, s.Enum)
		}
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			bad("want a number, got %T", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %T", v)
		}
	}
}

// client calls the fake over HTTP.
type client struct {
	t    *testing.T
	base string
}

// do sends a JSON body (if any) and returns the status and answer.
func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func ptr[T any](v T) *T { return &v }
