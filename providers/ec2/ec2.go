// Package ec2 is the Amazon EC2 provider: every instance is an EC2 instance
// tagged with the labels of DESIGN.md §4.1, created from a pool's AMI or launch
// template with the agent's configuration in its user-data.
//
// The cloud is the source of truth. List makes one paginated, tag-filtered
// DescribeInstances listing per configured region; Create is idempotent by name
// (an instance of ours with that Name tag is adopted) and by ClientToken (a
// token derived from owner, name and a generation, so a name reused after its
// instance was terminated gets a fresh token). Suspend stops an instance and
// keeps its EBS volumes (mode stop) or hibernates it (mode suspend, only for
// instances launched with hibernation configured); the time is kept in the
// agentcloud-suspended-at tag.
//
// Credentials come from the AWS SDK's default chain only (environment, shared
// config and profile, web identity, ECS, the EC2 instance role), never from
// the provider's settings. Every SDK call goes through the narrow API
// interface, so tests can count and fault them.
package ec2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/agentcloud/agentcloud/providers"
)

// Tags the provider sets besides the labels of providers.CreateRequest.Labels.
const (
	// TagName is EC2's display name tag; it holds the instance's agentcloud name.
	TagName = "Name"
	// TagResumedAt holds the RFC 3339 time (milliseconds) of the last Resume;
	// StartedAt is the later of it and EC2's LaunchTime.
	TagResumedAt = "agentcloud-resumed-at"
	// TagGeneration holds the ClientToken generation the instance was launched with.
	TagGeneration = "agentcloud-generation"
	// TagZone holds the offering zone the pool asked for (an AZ or a subnet id),
	// reported back as Instance.Offering.Zone.
	TagZone = "agentcloud-zone"
)

// Config configures the EC2 provider. Credentials are deliberately absent:
// they come from the SDK's default chain.
type Config struct {
	// Name is the provider's configured name (default "ec2").
	Name string
	// Regions are the regions the provider lists and acts in; the first is the
	// default for pools that name neither a region nor an availability zone.
	Regions []string
	// Endpoint, when set, replaces the EC2 endpoint of every region
	// (BaseEndpoint), e.g. a moto_server URL or a VPC endpoint.
	Endpoint string
	// Profile selects a shared-config profile for the default credential chain.
	Profile string
	// AllowSecretsInUserData lets env values whose names look secret (see
	// SecretEnvKey) go into user-data in clear. Off by default.
	AllowSecretsInUserData bool
	// PageSize is DescribeInstances' MaxResults for List (5 to 1000, default 1000).
	PageSize int32
	// MaxAttempts is the SDK's attempts per call, retries included (default 3).
	// Capacity, quota and permission errors are never retried.
	MaxAttempts int
}

// Provider manages EC2 instances. It is safe for concurrent use.
type Provider struct {
	cfg     Config
	log     *slog.Logger
	clients map[string]API // by region

	mu      sync.Mutex
	regions map[string]string // instance id -> region, learnt from List and Create
	roots   map[string]string // region/AMI -> root device name
	subnets map[string]string // region/subnet id -> availability zone
}

var _ providers.Provider = (*Provider)(nil)

// New checks cfg, loads the SDK's default configuration (credentials included)
// and returns the provider. It fails early when the default chain finds no
// credentials. A nil log discards.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	clients, err := newClients(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ec2 provider %s: %w", cfg.Name, err)
	}
	return newWithClients(cfg, log, clients), nil
}

// newWithClients builds the provider on ready clients, one per region of cfg.
func newWithClients(cfg Config, log *slog.Logger, clients map[string]API) *Provider {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Provider{
		cfg:     cfg,
		log:     log.With("provider", cfg.Name),
		clients: clients,
		regions: map[string]string{},
		roots:   map[string]string{},
		subnets: map[string]string{},
	}
}

// withDefaults validates cfg and fills its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "ec2"
	}
	if len(c.Regions) == 0 {
		return c, fmt.Errorf("ec2 provider %s: config: at least one region is required", c.Name)
	}
	seen := map[string]bool{}
	for _, r := range c.Regions {
		if !validRegion.MatchString(r) {
			return c, fmt.Errorf("ec2 provider %s: config: region %q is not a region name like us-east-1", c.Name, r)
		}
		if seen[r] {
			return c, fmt.Errorf("ec2 provider %s: config: region %s is listed twice", c.Name, r)
		}
		seen[r] = true
	}
	switch {
	case c.PageSize == 0:
		c.PageSize = 1000
	case c.PageSize < 5 || c.PageSize > 1000:
		return c, fmt.Errorf("ec2 provider %s: config: page size %d is outside 5..1000", c.Name, c.PageSize)
	}
	switch {
	case c.MaxAttempts == 0:
		c.MaxAttempts = 3
	case c.MaxAttempts < 1:
		return c, errors.New("ec2 provider " + c.Name + ": config: max attempts must be at least 1")
	}
	return c, nil
}

// Name returns the provider's name.
func (p *Provider) Name() string { return p.cfg.Name }

// Capabilities: EC2 can stop an instance keeping its EBS volumes (stop) and
// hibernate it keeping its memory too (suspend; the pool must launch with
// settings hibernate=true, or Suspend fails with a not-supported error).
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{SuspendModes: []providers.SuspendMode{providers.SuspendStop, providers.SuspendSuspend}}
}

// defaultRegion is the region of pools that name neither a region nor a zone.
func (p *Provider) defaultRegion() string { return p.cfg.Regions[0] }

// client returns the region's client.
func (p *Provider) client(region string) API { return p.clients[region] }

// remember records where instances live.
func (p *Provider) remember(region string, ids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		p.regions[id] = region
	}
}

// relearn replaces what is known of a region's instances with a listing.
func (p *Provider) relearn(region string, ids []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, r := range p.regions {
		if r == region {
			delete(p.regions, id)
		}
	}
	for _, id := range ids {
		p.regions[id] = region
	}
}

// regionOf returns the region an instance is known to live in, or "".
func (p *Provider) regionOf(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.regions[id]
}
