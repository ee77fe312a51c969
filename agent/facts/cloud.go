package facts

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Default metadata server addresses and probe timeout.
const (
	DefaultGCEURL       = "http://metadata.google.internal/computeMetadata/v1"
	DefaultEC2URL       = "http://169.254.169.254"
	DefaultCloudTimeout = 300 * time.Millisecond
)

// CloudOptions says where the metadata servers are and how long to wait.
type CloudOptions struct {
	// GCEURL is the GCE metadata base (default DefaultGCEURL); "-" skips GCE.
	GCEURL string
	// EC2URL is the EC2 instance metadata base (default DefaultEC2URL); "-" skips EC2.
	EC2URL string
	// Timeout bounds both probes together (default DefaultCloudTimeout).
	Timeout time.Duration
	// Client makes the requests (default: no proxy, no keep-alive).
	Client *http.Client
}

// Cloud probes the GCE and EC2 metadata servers at once and returns Facter's
// gce and ec2_metadata facts for the one that answers (a subset: GCE instance
// id, name, hostname, zone, machineType and project; EC2 instance-id,
// instance-type, ami-id, hostname, local-hostname, local-ipv4 and placement
// availability-zone and region). Off those clouds it returns an empty map
// within Timeout.
func Cloud(ctx context.Context, opts CloudOptions) map[string]any {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultCloudTimeout
	}
	if opts.GCEURL == "" {
		opts.GCEURL = DefaultGCEURL
	}
	if opts.EC2URL == "" {
		opts.EC2URL = DefaultEC2URL
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{}).DialContext,
		}}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	out := map[string]any{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	probe := func(name string, fn func(context.Context, *http.Client, string) (map[string]any, error), base string) {
		if base == "-" {
			return
		}
		wg.Go(func() {
			v, err := fn(ctx, client, strings.TrimRight(base, "/"))
			if err != nil || len(v) == 0 {
				return
			}
			mu.Lock()
			out[name] = v
			mu.Unlock()
		})
	}
	probe("gce", gceMetadata, opts.GCEURL)
	probe("ec2_metadata", ec2Metadata, opts.EC2URL)
	wg.Wait()
	return out
}

// CloudInstanceName is the machine's name on its cloud: the GCE instance
// name, or the EC2 instance id; "" off clouds.
func CloudInstanceName(f map[string]any) string {
	if v, ok := Lookup(f, "gce.instance.name"); ok {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	if v, ok := Lookup(f, "ec2_metadata.instance-id"); ok {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// gceMetadata reads the recursive metadata document and keeps Facter's
// shape for the subset agentcloud uses; zone and machineType are shortened
// to their last path segment, as Facter does.
func gceMetadata(ctx context.Context, client *http.Client, base string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/?recursive=true&alt=json", nil)
	if err != nil {
		return nil, fmt.Errorf("building GCE metadata request: %w", err)
	}
	req.Header.Set("Metadata-Flavor", "Google")
	req.Header.Set("Accept", "application/json")
	body, err := do(client, req)
	if err != nil {
		return nil, fmt.Errorf("reading GCE metadata: %w", err)
	}
	doc, err := parseJSONFacts(body)
	if err != nil {
		return nil, fmt.Errorf("reading GCE metadata: %w", err)
	}
	out := map[string]any{}
	if inst, ok := doc["instance"].(map[string]any); ok {
		sub := pick(inst, "id", "name", "hostname", "zone", "machineType", "image")
		for _, k := range []string{"zone", "machineType", "image"} {
			if s, ok := sub[k].(string); ok {
				sub[k] = s[strings.LastIndex(s, "/")+1:]
			}
		}
		out["instance"] = sub
	}
	if proj, ok := doc["project"].(map[string]any); ok {
		out["project"] = pick(proj, "projectId", "numericProjectId")
	}
	return out, nil
}

// ec2Paths are the metadata paths read, as nested names under ec2_metadata.
var ec2Paths = []string{
	"instance-id", "instance-type", "ami-id", "hostname", "local-hostname", "local-ipv4",
	"placement/availability-zone", "placement/region",
}

// ec2Metadata reads EC2 instance metadata with IMDSv2 (a PUT for a session
// token, then GETs with it); when the token call answers with an HTTP error
// it falls back to IMDSv1.
func ec2Metadata(ctx context.Context, client *http.Client, base string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/latest/api/token", nil)
	if err != nil {
		return nil, fmt.Errorf("building EC2 token request: %w", err)
	}
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "21600")
	token, err := do(client, req)
	var status statusError
	switch {
	case err == nil:
	case asStatus(err, &status):
		token = nil
	default:
		return nil, fmt.Errorf("getting EC2 metadata token: %w", err)
	}

	out := map[string]any{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range ec2Paths {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/latest/meta-data/"+p, nil)
			if err != nil {
				return
			}
			if token != nil {
				req.Header.Set("X-aws-ec2-metadata-token", string(token))
			}
			body, err := do(client, req)
			if err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			parent, leaf, nested := strings.Cut(p, "/")
			if !nested {
				out[p] = strings.TrimSpace(string(body))
				return
			}
			sub, _ := out[parent].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				out[parent] = sub
			}
			sub[leaf] = strings.TrimSpace(string(body))
		})
	}
	wg.Wait()
	if _, ok := out["instance-id"]; !ok {
		return nil, fmt.Errorf("reading EC2 metadata: no instance-id")
	}
	return out, nil
}

// statusError is a non-2xx answer.
type statusError struct{ code int }

// Error says which status came back.
func (e statusError) Error() string { return fmt.Sprintf("HTTP status %d", e.code) }

func asStatus(err error, target *statusError) bool {
	s, ok := err.(statusError)
	if ok {
		*target = s
	}
	return ok
}

// do runs a request and returns the body of a 2xx answer (at most 1 MiB).
func do(client *http.Client, req *http.Request) ([]byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, statusError{resp.StatusCode}
	}
	return body, nil
}

// pick copies the named keys of m that exist.
func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
