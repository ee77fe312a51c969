package docker

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
)

// poolSettingKeys are the keys ParsePoolSettings knows.
const poolSettingKeys = "cpus, memory, network, extra_hosts, broker_host"

// PoolSettings are a Docker pool's settings (the policy's `settings:`).
type PoolSettings struct {
	// NanoCPUs is the CPU limit in billionths of a CPU (cpus: "1.5"); 0 = none.
	NanoCPUs int64
	// Memory is the memory limit in bytes (memory: "512m"); 0 = none.
	Memory int64
	// Network overrides the provider's network mode ("" = the provider's).
	Network string
	// ExtraHosts are added to the provider's extra hosts.
	ExtraHosts []string
	// BrokerHost overrides the provider's broker_host ("" = the provider's).
	BrokerHost string
}

// ParsePoolSettings reads a pool's settings, reporting every problem at once,
// each naming its setting:
//
//	cpus         CPU limit, a positive decimal ("1.5")
//	memory       memory limit, a size with an optional unit b, k, m, g ("512m")
//	network      network mode: host, bridge, none or a named network
//	extra_hosts  comma-separated name:ip entries (ip may be host-gateway)
//	broker_host  name mapped to the host, and put in loopback broker URLs
//
// cloudmgr may call it when it loads the policies; Create calls it on every
// request.
func ParsePoolSettings(settings map[string]string) (PoolSettings, error) {
	var ps PoolSettings
	var problems []string
	bad := func(k, format string, args ...any) {
		problems = append(problems, "settings."+k+": "+fmt.Sprintf(format, args...))
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		v := strings.TrimSpace(settings[k])
		switch k {
		case "cpus":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e6 {
				bad(k, "want a positive number of CPUs such as \"1.5\", got %q", v)
				continue
			}
			ps.NanoCPUs = int64(math.Round(f * 1e9))
		case "memory":
			n, err := units.RAMInBytes(v)
			if err != nil || n <= 0 {
				bad(k, "want a positive size such as \"512m\" or \"2g\", got %q", v)
				continue
			}
			ps.Memory = n
		case "network":
			if err := checkNetwork(v); err != nil {
				bad(k, "%v", err)
			}
			ps.Network = v
		case "extra_hosts":
			hosts, err := parseExtraHosts(v)
			if err != nil {
				bad(k, "%v", err)
			}
			ps.ExtraHosts = hosts
		case "broker_host":
			if err := checkHostname(v); err != nil {
				bad(k, "%v", err)
			}
			ps.BrokerHost = v
		default:
			bad(k, "unknown setting of a docker pool (known: %s)", poolSettingKeys)
		}
	}
	if len(problems) > 0 {
		return ps, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return ps, nil
}

// networking is what a container's network looks like once the provider's
// config and the pool's settings are merged.
type networking struct {
	mode       string
	extraHosts []string
	brokerHost string // "" on the host network: 127.0.0.1 is the host there
}

// networkingFor merges the provider's defaults with a pool's settings.
func (p *Provider) networkingFor(ps PoolSettings) networking {
	n := networking{mode: p.cfg.Network, brokerHost: p.cfg.BrokerHost}
	if ps.Network != "" {
		n.mode = ps.Network
	}
	if ps.BrokerHost != "" {
		n.brokerHost = ps.BrokerHost
	}
	n.extraHosts = append(slices.Clone(p.cfg.ExtraHosts), ps.ExtraHosts...)
	if n.mode == "host" {
		n.brokerHost = ""
		return n
	}
	if n.brokerHost != "" {
		n.extraHosts = append(n.extraHosts, n.brokerHost+":host-gateway")
	}
	return n
}

// brokerURL rewrites a broker URL whose host is a loopback address to host,
// keeping the scheme and port: inside a container off the host network,
// 127.0.0.1 is the container itself. Other URLs are returned unchanged.
func brokerURL(raw, host string) string {
	if host == "" {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	h := u.Hostname()
	loopback := strings.EqualFold(h, "localhost")
	if a, err := netip.ParseAddr(h); err == nil && a.IsLoopback() {
		loopback = true
	}
	if !loopback {
		return raw
	}
	if port := u.Port(); port != "" {
		u.Host = net.JoinHostPort(host, port)
	} else {
		u.Host = host
	}
	return u.String()
}
