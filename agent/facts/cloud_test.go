package facts

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"
)

const gceDoc = `{
  "instance": {
    "id": 4520031799277581759,
    "name": "ci-linux-7",
    "hostname": "ci-linux-7.c.proj.internal",
    "zone": "projects/123456/zones/europe-west1-b",
    "machineType": "projects/123456/machineTypes/e2-standard-4",
    "attributes": {"startup-script": "secret stuff"}
  },
  "project": {"projectId": "proj", "numericProjectId": 123456, "attributes": {"ssh-keys": "k"}}
}`

// fakeGCE serves the GCE metadata document only with Metadata-Flavor: Google.
func fakeGCE(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
			return
		}
		if r.URL.Path != "/computeMetadata/v1/" || r.URL.Query().Get("recursive") != "true" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(gceDoc))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeEC2 is IMDSv2: a PUT gives a token; GETs need it.
type fakeEC2 struct {
	mu     sync.Mutex
	puts   int
	v1Only bool
}

func (f *fakeEC2) start(t *testing.T) *httptest.Server {
	values := map[string]string{
		"instance-id":                 "i-0abc123",
		"instance-type":               "m5.large",
		"ami-id":                      "ami-42",
		"hostname":                    "ip-10-0-0-5.ec2.internal",
		"local-hostname":              "ip-10-0-0-5.ec2.internal",
		"local-ipv4":                  "10.0.0.5",
		"placement/availability-zone": "us-east-1a",
		"placement/region":            "us-east-1",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			f.mu.Lock()
			f.puts++
			f.mu.Unlock()
			if f.v1Only {
				http.Error(w, "not here", http.StatusForbidden)
				return
			}
			if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
				http.Error(w, "missing ttl", http.StatusBadRequest)
				return
			}
			w.Write([]byte("tok-1"))
			return
		}
		if !f.v1Only && r.Header.Get("X-aws-ec2-metadata-token") != "tok-1" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		const prefix = "/latest/meta-data/"
		if len(r.URL.Path) <= len(prefix) {
			http.NotFound(w, r)
			return
		}
		v, ok := values[r.URL.Path[len(prefix):]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(v + "\n"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

var wantEC2 = map[string]any{
	"instance-id":    "i-0abc123",
	"instance-type":  "m5.large",
	"ami-id":         "ami-42",
	"hostname":       "ip-10-0-0-5.ec2.internal",
	"local-hostname": "ip-10-0-0-5.ec2.internal",
	"local-ipv4":     "10.0.0.5",
	"placement":      map[string]any{"availability-zone": "us-east-1a", "region": "us-east-1"},
}

func TestCloudGCE(t *testing.T) {
	srv := fakeGCE(t)
	got := Cloud(context.Background(), CloudOptions{GCEURL: srv.URL + "/computeMetadata/v1", EC2URL: "-", Timeout: 5 * time.Second})
	want := map[string]any{"gce": map[string]any{
		"instance": map[string]any{
			"id":          int64(4520031799277581759),
			"name":        "ci-linux-7",
			"hostname":    "ci-linux-7.c.proj.internal",
			"zone":        "europe-west1-b",
			"machineType": "e2-standard-4",
		},
		"project": map[string]any{"projectId": "proj", "numericProjectId": int64(123456)},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Cloud =\n%#v\nwant\n%#v", got, want)
	}
	if n := CloudInstanceName(got); n != "ci-linux-7" {
		t.Errorf("CloudInstanceName = %q, want ci-linux-7", n)
	}
}

func TestCloudEC2IMDSv2(t *testing.T) {
	fake := &fakeEC2{}
	srv := fake.start(t)
	got := Cloud(context.Background(), CloudOptions{GCEURL: "-", EC2URL: srv.URL, Timeout: 5 * time.Second})
	if !reflect.DeepEqual(got, map[string]any{"ec2_metadata": wantEC2}) {
		t.Errorf("Cloud =\n%#v\nwant ec2_metadata %#v", got, wantEC2)
	}
	if fake.puts != 1 {
		t.Errorf("token PUTs = %d, want 1", fake.puts)
	}
	if n := CloudInstanceName(got); n != "i-0abc123" {
		t.Errorf("CloudInstanceName = %q, want i-0abc123", n)
	}
}

func TestCloudEC2FallsBackToIMDSv1(t *testing.T) {
	fake := &fakeEC2{v1Only: true}
	srv := fake.start(t)
	got := Cloud(context.Background(), CloudOptions{GCEURL: "-", EC2URL: srv.URL, Timeout: 5 * time.Second})
	if !reflect.DeepEqual(got["ec2_metadata"], wantEC2) {
		t.Errorf("ec2_metadata = %#v", got["ec2_metadata"])
	}
}

func TestCloudBothProbedAtOnceOneAnswers(t *testing.T) {
	gce := fakeGCE(t)
	notEC2 := httptest.NewServer(http.NotFoundHandler())
	defer notEC2.Close()
	got := Cloud(context.Background(), CloudOptions{GCEURL: gce.URL + "/computeMetadata/v1", EC2URL: notEC2.URL, Timeout: 5 * time.Second})
	if _, ok := got["gce"]; !ok {
		t.Errorf("gce missing: %v", got)
	}
	if _, ok := got["ec2_metadata"]; ok {
		t.Errorf("ec2_metadata present although the server answers 404: %v", got)
	}
}

// TestCloudAbsent: servers that never answer, and a closed port, give no
// cloud facts; Cloud returns once its timeout passes (the test would hang
// otherwise).
func TestCloudAbsent(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, never answer
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	got := Cloud(context.Background(), CloudOptions{
		GCEURL:  "http://" + silent.Addr().String() + "/computeMetadata/v1",
		EC2URL:  "http://" + closedAddr,
		Timeout: 200 * time.Millisecond,
	})
	if len(got) != 0 {
		t.Errorf("Cloud off-cloud = %v, want nothing", got)
	}
	if n := CloudInstanceName(got); n != "" {
		t.Errorf("CloudInstanceName off-cloud = %q", n)
	}
}

// BenchmarkCloudAbsent measures how long the probes cost off-cloud when the
// metadata addresses hang (the worst case: bounded by the timeout).
func BenchmarkCloudAbsent(b *testing.B) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	url := "http://" + silent.Addr().String()
	for b.Loop() {
		Cloud(context.Background(), CloudOptions{GCEURL: url, EC2URL: url, Timeout: DefaultCloudTimeout})
	}
}

// BenchmarkCore measures gathering the core facts of this machine.
func BenchmarkCore(b *testing.B) {
	for b.Loop() {
		Gather(context.Background(), Options{})
	}
}
