package docker

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// providerSettings are the keys ConfigFromSettings knows.
const providerSettings = "host, tls_ca, tls_cert, tls_key, network, extra_hosts, broker_host, stop_timeout, restart, init, env.<NAME>"

// ConfigFromSettings reads a Docker provider's settings from cloudmgr's config
// (`providers: - {name, type: docker, settings: {...}}`):
//
//	host          engine address (default DOCKER_HOST, else the local socket)
//	tls_ca        PEM CA file of a TLS engine   } default DOCKER_CERT_PATH
//	tls_cert      PEM client certificate file   } and DOCKER_TLS_VERIFY
//	tls_key       PEM client key file           }
//	network       default network mode of the pools: host (default), bridge or a named network
//	extra_hosts   comma-separated name:ip entries (ip may be host-gateway)
//	broker_host   name mapped to the host, and put in loopback broker URLs, off the host network
//	stop_timeout  SIGTERM to SIGKILL grace on stop (default 10s)
//	restart       restart policy: unless-stopped (default), no, on-failure, always
//	init          run docker-init as PID 1 (default true)
//	env.NAME      extra environment variable for every container
//
// Every problem is reported at once, each naming its setting.
func ConfigFromSettings(name string, settings map[string]string) (Config, error) {
	c := Config{Name: name}
	var problems []string
	bad := func(k, format string, args ...any) {
		problems = append(problems, "settings."+k+": "+fmt.Sprintf(format, args...))
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		v := strings.TrimSpace(settings[k])
		switch {
		case k == "host":
			if err := checkHost(v); err != nil {
				bad(k, "%v", err)
			}
			c.Host = v
		case k == "tls_ca":
			c.TLSCA = v
		case k == "tls_cert":
			c.TLSCert = v
		case k == "tls_key":
			c.TLSKey = v
		case k == "network":
			if err := checkNetwork(v); err != nil {
				bad(k, "%v", err)
			}
			c.Network = v
		case k == "extra_hosts":
			hosts, err := parseExtraHosts(v)
			if err != nil {
				bad(k, "%v", err)
			}
			c.ExtraHosts = hosts
		case k == "broker_host":
			if err := checkHostname(v); err != nil {
				bad(k, "%v", err)
			}
			c.BrokerHost = v
		case k == "stop_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				bad(k, "want a duration of at least 1s, got %q", v)
			}
			c.StopTimeout = d
		case k == "restart":
			if !validRestart(v) {
				bad(k, "want no, on-failure, unless-stopped or always, got %q", v)
			}
			c.Restart = v
		case k == "init":
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad(k, "want true or false, got %q", v)
			}
			c.NoInit = !b
		case strings.HasPrefix(k, "env.") && len(k) > len("env."):
			if c.Env == nil {
				c.Env = map[string]string{}
			}
			c.Env[k[len("env."):]] = settings[k]
		default:
			bad(k, "unknown setting (known: %s)", providerSettings)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, "settings.tls_cert, settings.tls_key: set both or neither")
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return c, nil
}

// checkHost accepts the engine address forms Docker knows.
func checkHost(v string) error {
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok || rest == "" {
		return fmt.Errorf("want unix:///path, tcp://host:port, ssh://... or npipe://..., got %q", v)
	}
	switch scheme {
	case "unix", "tcp", "http", "https", "ssh", "npipe":
		return nil
	}
	return fmt.Errorf("unknown scheme %q in %q (unix, tcp, http, https, ssh, npipe)", scheme, v)
}

// checkNetwork accepts host, bridge, none or a network name.
func checkNetwork(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty (host, bridge, none or a network name)")
	}
	if strings.HasPrefix(v, "container:") {
		return fmt.Errorf("%q: sharing another container's network is not supported", v)
	}
	if !validObjectName(v) {
		return fmt.Errorf("%q: want host, bridge, none or a network name (letters, digits, '_', '.', '-')", v)
	}
	return nil
}

// parseExtraHosts splits a comma- or space-separated list of name:ip entries.
func parseExtraHosts(v string) ([]string, error) {
	hosts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	for _, h := range hosts {
		if err := checkExtraHost(h); err != nil {
			return nil, err
		}
	}
	return hosts, nil
}

// checkExtraHost accepts name:ip and name:host-gateway.
func checkExtraHost(h string) error {
	name, ip, ok := strings.Cut(h, ":")
	if !ok {
		return fmt.Errorf("%q: want name:ip or name:host-gateway", h)
	}
	if err := checkHostname(name); err != nil {
		return fmt.Errorf("%q: %w", h, err)
	}
	if ip == "host-gateway" {
		return nil
	}
	if _, err := netip.ParseAddr(strings.Trim(ip, "[]")); err != nil {
		return fmt.Errorf("%q: %q is neither an IP address nor host-gateway", h, ip)
	}
	return nil
}

// checkHostname accepts a DNS name: letters, digits, '-' and '.', at most 253.
func checkHostname(h string) error {
	if h == "" || len(h) > 253 {
		return fmt.Errorf("host name %q: want 1 to 253 characters", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host name %q: empty label, or one starting or ending with '-'", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("host name %q: character %q not allowed (letters, digits, '-', '.')", h, r)
			}
		}
	}
	return nil
}

// validObjectName reports whether s is a valid Docker container, volume or
// network name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, kept under 200 characters.
func validObjectName(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || (r != '_' && r != '.' && r != '-')) {
			return false
		}
	}
	return true
}
