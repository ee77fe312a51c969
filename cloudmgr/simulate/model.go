package simulate

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Default latencies and prices: a typical cloud VM.
const (
	DefaultCreate         = 30 * time.Second // provisioning
	DefaultBoot           = 45 * time.Second // boot to agent registered
	DefaultResume         = 30 * time.Second // resume to agent registered
	DefaultSuspend        = 20 * time.Second
	DefaultDestroy        = 30 * time.Second
	DefaultPriceRunning   = 0.20 // per machine-hour running
	DefaultPriceSuspended = 0.01 // per machine-hour suspended (the disk)
)

// Latencies are how long each provider operation takes in virtual time.
type Latencies struct {
	// Create is provisioning; Boot is from provisioned to the agent
	// registered. The machine is pending for Create+Boot.
	Create time.Duration `json:"create"`
	Boot   time.Duration `json:"boot"`
	// Resume is from the resume call to the agent registered again.
	Resume time.Duration `json:"resume"`
	// Suspend is from the suspend call to suspended.
	Suspend time.Duration `json:"suspend"`
	// Destroy is from the destroy call to gone.
	Destroy time.Duration `json:"destroy"`
}

// Prices are what machines cost per hour.
type Prices struct {
	// Running is billed while a machine is pending, running, resuming,
	// suspending, or being destroyed from one of those.
	Running float64 `json:"running_per_hour"`
	// Suspended is billed while it is suspended (its disk), or being destroyed from suspended.
	Suspended float64 `json:"suspended_per_hour"`
}

// ProviderModel is the latencies and prices of one provider.
type ProviderModel struct {
	Latencies Latencies `json:"latencies"`
	Prices    Prices    `json:"prices"`
}

// DefaultProviderModel is the model used where nothing else is said.
func DefaultProviderModel() ProviderModel {
	return ProviderModel{
		Latencies: Latencies{Create: DefaultCreate, Boot: DefaultBoot, Resume: DefaultResume, Suspend: DefaultSuspend, Destroy: DefaultDestroy},
		Prices:    Prices{Running: DefaultPriceRunning, Suspended: DefaultPriceSuspended},
	}
}

// Model is the latency and price model of every provider.
type Model struct {
	// Default applies to providers not in Providers.
	Default ProviderModel `json:"default"`
	// Providers holds per-provider models, by provider name.
	Providers map[string]ProviderModel `json:"providers,omitempty"`
}

// For returns the model of a provider.
func (m Model) For(provider string) ProviderModel {
	if pm, ok := m.Providers[provider]; ok {
		return pm
	}
	return m.Default
}

// check reports negative latencies or prices.
func (pm ProviderModel) check(where string) error {
	l := pm.Latencies
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"create", l.Create}, {"boot", l.Boot}, {"resume", l.Resume}, {"suspend", l.Suspend}, {"destroy", l.Destroy}} {
		if f.d < 0 {
			return fmt.Errorf("%s: %s latency must not be negative (got %s)", where, f.name, f.d)
		}
	}
	if pm.Prices.Running < 0 || pm.Prices.Suspended < 0 {
		return fmt.Errorf("%s: prices must not be negative", where)
	}
	return nil
}

// modelFile is the YAML of a model file.
type modelFile struct {
	Providers map[string]providerYAML `yaml:"providers"`
}

// providerYAML is one provider in a model file; fields left out keep the default.
type providerYAML struct {
	Create         *time.Duration `yaml:"create"`
	Boot           *time.Duration `yaml:"boot"`
	Resume         *time.Duration `yaml:"resume"`
	Suspend        *time.Duration `yaml:"suspend"`
	Destroy        *time.Duration `yaml:"destroy"`
	PriceRunning   *float64       `yaml:"price_running"`
	PriceSuspended *float64       `yaml:"price_suspended"`
}

// LoadModel reads a YAML model file:
//
//	providers:
//	  gce:
//	    create: 40s
//	    boot: 50s
//	    resume: 25s
//	    suspend: 15s
//	    destroy: 30s
//	    price_running: 0.19
//	    price_suspended: 0.008
//
// Each provider's fields left out take base.Default's values.
func LoadModel(path string, base Model) (Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("reading model file: %w", err)
	}
	var f modelFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return base, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	out := Model{Default: base.Default, Providers: map[string]ProviderModel{}}
	for k, v := range base.Providers {
		out.Providers[k] = v
	}
	names := make([]string, 0, len(f.Providers))
	for n := range f.Providers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		y := f.Providers[name]
		pm := base.Default
		set := func(dst *time.Duration, src *time.Duration) {
			if src != nil {
				*dst = *src
			}
		}
		set(&pm.Latencies.Create, y.Create)
		set(&pm.Latencies.Boot, y.Boot)
		set(&pm.Latencies.Resume, y.Resume)
		set(&pm.Latencies.Suspend, y.Suspend)
		set(&pm.Latencies.Destroy, y.Destroy)
		if y.PriceRunning != nil {
			pm.Prices.Running = *y.PriceRunning
		}
		if y.PriceSuspended != nil {
			pm.Prices.Suspended = *y.PriceSuspended
		}
		if err := pm.check(path + ": provider " + name); err != nil {
			return base, err
		}
		out.Providers[name] = pm
	}
	return out, nil
}
