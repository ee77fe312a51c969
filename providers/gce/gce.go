// Package gce is the Google Compute Engine provider: every instance is a VM
// created through the Compute REST API (cloud.google.com/go/compute), labelled
// with its owner, installation and pool, and listed back with one
// aggregatedList per resource type and a label filter. Suspend has three
// modes: stop (TERMINATED, disk kept), suspend (SUSPENDED, memory kept) and
// delete-keep-disk (the VM is deleted, its boot disk kept and labelled, and
// the VM recreated from it on resume). Instance ids are "<zone>/<name>".
// Credentials come from Application Default Credentials only.
package gce

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/api/option"

	"github.com/agentcloud/agentcloud/providers"
)

// SuspendDeleteKeepDisk deletes the VM but keeps its boot disk, and
// recreates the VM from that disk on resume: nothing but the disk is paid for
// (no instance, no reserved address) while suspended.
const SuspendDeleteKeepDisk providers.SuspendMode = "delete-keep-disk"

// Defaults of Config.
const (
	defaultName             = "gce"
	defaultPageSize         = 500
	defaultOperationTimeout = 10 * time.Minute
	defaultStaleAfter       = 30 * time.Second
)

// Config configures the GCE provider. Credentials are not part of it: the
// clients use Application Default Credentials.
type Config struct {
	// Name is the provider's name (default "gce").
	Name string
	// Project is the GCP project id the instances live in.
	Project string
	// Zones are the zones the provider may create in; the first is the
	// default zone of offerings that name none. List covers every zone.
	Zones []string
	// Endpoint overrides the Compute API's base URL. An http:// endpoint (a
	// fake, in tests) is used without authentication; an https:// one (a
	// private endpoint) with Application Default Credentials.
	Endpoint string
	// PageSize is maxResults of list calls (default 500, the API's maximum).
	PageSize int
	// OperationTimeout bounds the wait for one zone operation (default 10m).
	OperationTimeout time.Duration
	// StaleAfter: an insert answered with an operation started this long
	// before the call comes from an earlier use of the same requestId (the
	// same name in an earlier life) and is retried under the next one
	// (default 30s; it absorbs clock skew with Google).
	StaleAfter time.Duration
	// ClientOptions are added to the SDK clients' options (tests).
	ClientOptions []option.ClientOption
}

// zoneRE and nameRE match GCE zone and resource names.
var (
	zoneRE = regexp.MustCompile(`^[a-z][-a-z0-9]{0,62}$`)
	nameRE = regexp.MustCompile(`^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$`)
)

// withDefaults checks cfg and fills its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = defaultName
	}
	var problems []string
	if c.Project == "" {
		problems = append(problems, "project is required")
	}
	if len(c.Zones) == 0 {
		problems = append(problems, "zones: at least one zone is required")
	}
	for _, z := range c.Zones {
		if !zoneRE.MatchString(z) {
			problems = append(problems, fmt.Sprintf("zones: %q is not a zone name", z))
		}
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		problems = append(problems, fmt.Sprintf("endpoint %q: want an http:// or https:// URL", c.Endpoint))
	}
	if c.PageSize < 0 || c.PageSize > 500 {
		problems = append(problems, fmt.Sprintf("page_size %d: want 1 to 500", c.PageSize))
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("gce provider %s: config: %s", c.Name, strings.Join(problems, "; "))
	}
	c.Endpoint = strings.TrimRight(c.Endpoint, "/")
	if c.PageSize == 0 {
		c.PageSize = defaultPageSize
	}
	if c.OperationTimeout <= 0 {
		c.OperationTimeout = defaultOperationTimeout
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = defaultStaleAfter
	}
	return c, nil
}

// clientOptions are the SDK options for the config's endpoint.
func (c Config) clientOptions() []option.ClientOption {
	var opts []option.ClientOption
	switch {
	case strings.HasPrefix(c.Endpoint, "http://"):
		opts = append(opts, option.WithEndpoint(c.Endpoint), option.WithoutAuthentication())
	case c.Endpoint != "":
		opts = append(opts, option.WithEndpoint(c.Endpoint))
	}
	return append(opts, c.ClientOptions...)
}

// Provider manages GCE instances. It is safe for concurrent use.
type Provider struct {
	cfg Config
	api computeAPI
	log *slog.Logger
	now func() time.Time
}

var _ providers.Provider = (*Provider)(nil)

// New checks cfg, opens the Compute API clients (with Application Default
// Credentials unless the endpoint is plain http) and returns the provider.
// A nil log discards. Close it when done.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	api, err := newSDK(ctx, cfg.Project, cfg.PageSize, cfg.clientOptions()...)
	if err != nil {
		return nil, fmt.Errorf("gce provider %s: %w", cfg.Name, err)
	}
	return newProvider(cfg, api, log), nil
}

// newProvider builds a provider on an API (cfg already defaulted).
func newProvider(cfg Config, api computeAPI, log *slog.Logger) *Provider {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Provider{cfg: cfg, api: api, log: log.With("provider", cfg.Name), now: time.Now}
}

// Close closes the API clients.
func (p *Provider) Close() error { return p.api.close() }

// Name returns the provider's name.
func (p *Provider) Name() string { return p.cfg.Name }

// Capabilities: stop, suspend (memory kept) and delete-keep-disk.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{SuspendModes: []providers.SuspendMode{
		providers.SuspendStop, providers.SuspendSuspend, SuspendDeleteKeepDisk,
	}}
}

// instanceID is the provider id of an instance: "<zone>/<name>".
func instanceID(zone, name string) string { return zone + "/" + name }

// parseID splits an instance id; ok is false for an id no GCE instance can have.
func parseID(id string) (zone, name string, ok bool) {
	zone, name, found := strings.Cut(id, "/")
	return zone, name, found && zoneRE.MatchString(zone) && nameRE.MatchString(name)
}

// batch runs fn for every id, up to providers.DefaultParallel at once, and
// returns the ids that succeeded, in order, plus the joined failures.
func (p *Provider) batch(ctx context.Context, verb string, ids []string, fn func(ctx context.Context, id string) error) ([]string, error) {
	return providers.Batch(ctx, verb, ids, providers.DefaultParallel, func(id string) error { return fn(ctx, id) })
}

// zoneFor returns the zone of an offering, or the default zone.
func (p *Provider) zoneFor(o providers.Offering) string {
	if o.Zone != "" {
		return o.Zone
	}
	return p.cfg.Zones[0]
}

// knownZone reports whether the provider is configured for the zone.
func (p *Provider) knownZone(zone string) bool { return slices.Contains(p.cfg.Zones, zone) }
