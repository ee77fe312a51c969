package docker

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

func TestConfigFromSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     func(Config) bool
		errs     []string // every one must be in the error; none means no error
	}{
		{"empty", nil, func(c Config) bool { return c.Name == "d" && c.Host == "" && c.Network == "" && !c.NoInit }, nil},
		{"everything", map[string]string{
			"host": "tcp://10.0.0.5:2376", "tls_ca": "/c/ca.pem", "tls_cert": "/c/cert.pem", "tls_key": "/c/key.pem",
			"network": "ci-net", "extra_hosts": "a.internal:10.0.0.1, b.internal:host-gateway",
			"broker_host": "broker.internal", "stop_timeout": "30s", "restart": "no", "init": "false",
			"env.HTTP_PROXY": "http://proxy:3128",
		}, func(c Config) bool {
			return c.Host == "tcp://10.0.0.5:2376" && c.TLSCA == "/c/ca.pem" && c.TLSCert == "/c/cert.pem" && c.TLSKey == "/c/key.pem" &&
				c.Network == "ci-net" && slices.Equal(c.ExtraHosts, []string{"a.internal:10.0.0.1", "b.internal:host-gateway"}) &&
				c.BrokerHost == "broker.internal" && c.StopTimeout == 30*time.Second && c.Restart == "no" && c.NoInit &&
				c.Env["HTTP_PROXY"] == "http://proxy:3128"
		}, nil},
		{"unix socket", map[string]string{"host": "unix:///run/user/1000/docker.sock"}, func(c Config) bool { return c.Host == "unix:///run/user/1000/docker.sock" }, nil},
		{"bad values, all reported", map[string]string{
			"host": "10.0.0.5:2376", "network": "container:abc", "extra_hosts": "nocolon", "broker_host": "bad_host",
			"stop_timeout": "10", "restart": "sometimes", "init": "maybe", "cpus": "2",
		}, nil, []string{
			"settings.host:", "settings.network:", "settings.extra_hosts:", "settings.broker_host:",
			"settings.stop_timeout:", "settings.restart:", "settings.init:", "settings.cpus: unknown setting",
		}},
		{"cert without key", map[string]string{"tls_cert": "/c/cert.pem"}, nil, []string{"settings.tls_cert, settings.tls_key"}},
		{"bad extra host address", map[string]string{"extra_hosts": "a:999.1.1.1"}, nil, []string{"settings.extra_hosts:", "neither an IP"}},
		{"unknown scheme", map[string]string{"host": "ftp://x"}, nil, []string{`settings.host: unknown scheme "ftp"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfigFromSettings("d", tc.settings)
			if len(tc.errs) == 0 {
				if err != nil || !tc.want(c) {
					t.Errorf("ConfigFromSettings(%v) = %+v, %v", tc.settings, c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ConfigFromSettings(%v) = %+v, want an error", tc.settings, c)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q lacks %q", err, e)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil || c.Name != "docker" || c.Network != "host" || c.StopTimeout != 10*time.Second || c.Restart != "unless-stopped" || c.NoInit {
		t.Errorf("defaults = %+v, %v", c, err)
	}
	for _, bad := range []Config{
		{StopTimeout: time.Millisecond},
		{Restart: "sometimes"},
		{TLSKey: "k.pem"},
		{Network: "a b"},
		{ExtraHosts: []string{"x"}},
		{BrokerHost: "-x"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("withDefaults(%+v) succeeded", bad)
		}
	}
}

func TestParsePoolSettings(t *testing.T) {
	tests := []struct {
		settings map[string]string
		want     PoolSettings
		errs     []string
	}{
		{nil, PoolSettings{}, nil},
		{map[string]string{"cpus": "1.5", "memory": "512m"}, PoolSettings{NanoCPUs: 1_500_000_000, Memory: 512 << 20}, nil},
		{map[string]string{"cpus": "0.25", "memory": "2g"}, PoolSettings{NanoCPUs: 250_000_000, Memory: 2 << 30}, nil},
		{map[string]string{"memory": "1048576"}, PoolSettings{Memory: 1 << 20}, nil},
		{map[string]string{"network": "bridge", "broker_host": "host.docker.internal", "extra_hosts": "a:1.2.3.4"},
			PoolSettings{Network: "bridge", BrokerHost: "host.docker.internal", ExtraHosts: []string{"a:1.2.3.4"}}, nil},
		{map[string]string{"cpus": "0"}, PoolSettings{}, []string{`settings.cpus: want a positive number of CPUs such as "1.5", got "0"`}},
		{map[string]string{"cpus": "NaN", "memory": "lots"}, PoolSettings{}, []string{"settings.cpus:", `settings.memory: want a positive size such as "512m" or "2g", got "lots"`}},
		{map[string]string{"cpus": "Inf"}, PoolSettings{}, []string{"settings.cpus:"}},
		{map[string]string{"memory": "0"}, PoolSettings{}, []string{"settings.memory:"}},
		{map[string]string{"mem": "1g"}, PoolSettings{}, []string{"settings.mem: unknown setting of a docker pool (known: cpus, memory, network, extra_hosts, broker_host)"}},
		{map[string]string{"network": ""}, PoolSettings{}, []string{"settings.network: must not be empty"}},
	}
	for _, tc := range tests {
		got, err := ParsePoolSettings(tc.settings)
		if len(tc.errs) == 0 {
			if err != nil || got.NanoCPUs != tc.want.NanoCPUs || got.Memory != tc.want.Memory || got.Network != tc.want.Network ||
				got.BrokerHost != tc.want.BrokerHost || !slices.Equal(got.ExtraHosts, tc.want.ExtraHosts) {
				t.Errorf("ParsePoolSettings(%v) = %+v, %v; want %+v", tc.settings, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParsePoolSettings(%v) = %+v, want an error", tc.settings, got)
			continue
		}
		for _, e := range tc.errs {
			if !strings.Contains(err.Error(), e) {
				t.Errorf("ParsePoolSettings(%v) error %q lacks %q", tc.settings, err, e)
			}
		}
	}
}

func TestNetworkingFor(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ps   PoolSettings
		want networking
	}{
		{"host network ignores the broker host", Config{Network: "host", BrokerHost: "broker.internal", ExtraHosts: []string{"a:1.1.1.1"}}, PoolSettings{},
			networking{mode: "host", extraHosts: []string{"a:1.1.1.1"}}},
		{"bridge maps the broker host", Config{Network: "bridge", BrokerHost: "broker.internal"}, PoolSettings{},
			networking{mode: "bridge", extraHosts: []string{"broker.internal:host-gateway"}, brokerHost: "broker.internal"}},
		{"the pool overrides", Config{Network: "host", BrokerHost: "b1", ExtraHosts: []string{"a:1.1.1.1"}},
			PoolSettings{Network: "ci-net", BrokerHost: "b2", ExtraHosts: []string{"c:2.2.2.2"}},
			networking{mode: "ci-net", extraHosts: []string{"a:1.1.1.1", "c:2.2.2.2", "b2:host-gateway"}, brokerHost: "b2"}},
		{"a pool on the host network", Config{Network: "bridge", BrokerHost: "b1"}, PoolSettings{Network: "host"},
			networking{mode: "host"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Provider{cfg: tc.cfg}
			got := p.networkingFor(tc.ps)
			if got.mode != tc.want.mode || got.brokerHost != tc.want.brokerHost || !slices.Equal(got.extraHosts, tc.want.extraHosts) {
				t.Errorf("networkingFor = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBrokerURL(t *testing.T) {
	tests := []struct{ in, host, want string }{
		{"stomp://127.0.0.1:61613", "broker.internal", "stomp://broker.internal:61613"},
		{"stomp+ssl://localhost:61614", "broker.internal", "stomp+ssl://broker.internal:61614"},
		{"stomp://[::1]:61613", "broker.internal", "stomp://broker.internal:61613"},
		{"stomp://127.0.0.2:61613", "b", "stomp://b:61613"},
		{"stomp://mq.example.com:61613", "broker.internal", "stomp://mq.example.com:61613"},
		{"stomp://10.0.0.1:61613", "broker.internal", "stomp://10.0.0.1:61613"},
		{"stomp://127.0.0.1:61613", "", "stomp://127.0.0.1:61613"},
		{"not a url", "b", "not a url"},
	}
	for _, tc := range tests {
		if got := brokerURL(tc.in, tc.host); got != tc.want {
			t.Errorf("brokerURL(%q, %q) = %q, want %q", tc.in, tc.host, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	for name, want := range map[string]bool{
		"ab": true, "pool-a-1": true, "a.b_c-d": true, "9lives": true,
		"": false, "a": false, "-a": false, "_a": false, "a/b": false, "a b": false, strings.Repeat("x", 201): false,
	} {
		if got := validContainerName(name); got != want {
			t.Errorf("validContainerName(%q) = %v, want %v", name, got, want)
		}
	}
	for h, ok := range map[string]bool{
		"broker.internal": true, "host-gateway": true, "a": true,
		"": false, "a..b": false, "-a": false, "a-": false, "a_b": false, strings.Repeat("a", 254): false,
	} {
		if err := checkHostname(h); (err == nil) != ok {
			t.Errorf("checkHostname(%q) = %v, want ok %v", h, err, ok)
		}
	}
}

func TestNewReportsBadConfig(t *testing.T) {
	missing := t.TempDir() + "/none.pem"
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Host: "tcp://127.0.0.1:1", TLSCA: missing}, "settings host, tls_ca, tls_cert, tls_key"},
		{Config{Host: "tcp://127.0.0.1:1", TLSCert: missing}, "tls_cert and tls_key go together"},
		{Config{Host: "nonsense"}, "settings host"},
		{Config{Restart: "sometimes"}, `restart "sometimes"`},
	} {
		p, err := New(t.Context(), tc.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, %v; want an error with %q", tc.cfg, p, err, tc.want)
		}
	}
	p, err := New(t.Context(), Config{Host: "tcp://127.0.0.1:1", Name: "d1"}, nil)
	if err != nil {
		t.Fatalf("New with an engine that is down = %v, want a provider", err)
	}
	defer p.Close()
	if p.Name() != "d1" || !p.Capabilities().Supports(providers.SuspendStop) || !p.Capabilities().Supports(providers.SuspendSuspend) {
		t.Errorf("name %q, capabilities %+v", p.Name(), p.Capabilities())
	}
	if caps := new(Provider).Capabilities(); len(caps.SuspendModes) != 2 {
		t.Errorf("a zero Provider's capabilities = %+v, want stop and suspend", caps)
	}
}
