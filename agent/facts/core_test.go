package facts

import (
	"reflect"
	"testing"
	"testing/fstest"
)

const meminfoFixture = `MemTotal:        8052892 kB
MemFree:          512000 kB
MemAvailable:    4026446 kB
Buffers:          100000 kB
Cached:          2000000 kB
SwapTotal:       2097148 kB
SwapFree:        1048574 kB
HugePages_Total:       0
`

const cpuinfoFixture = `processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) CPU @ 2.20GHz
cpu MHz		: 2200.000
physical id	: 0
siblings	: 4
cpu cores	: 2
flags		: fpu vme hypervisor sse

processor	: 1
model name	: Intel(R) Xeon(R) CPU @ 2.20GHz
physical id	: 0

processor	: 2
model name	: Intel(R) Xeon(R) CPU @ 2.20GHz
physical id	: 0

processor	: 3
model name	: Intel(R) Xeon(R) CPU @ 2.20GHz
physical id	: 0
`

func TestMemoryFacts(t *testing.T) {
	m := memoryFacts(fstest.MapFS{"proc/meminfo": {Data: []byte(meminfoFixture)}})
	sys := m["system"].(map[string]any)
	want := map[string]any{
		"total_bytes":     int64(8052892 * 1024),
		"total":           "7.68 GiB",
		"available_bytes": int64(4026446 * 1024),
		"available":       "3.84 GiB",
		"used_bytes":      int64((8052892 - 4026446) * 1024),
		"used":            "3.84 GiB",
		"capacity":        "50.00%",
	}
	if !reflect.DeepEqual(sys, want) {
		t.Errorf("memory.system = %v\nwant %v", sys, want)
	}
	swap := m["swap"].(map[string]any)
	if swap["total_bytes"] != int64(2097148*1024) || swap["used_bytes"] != int64(1048574*1024) {
		t.Errorf("memory.swap = %v", swap)
	}
}

func TestMemoryWithoutMemAvailableAddsFreeBuffersCached(t *testing.T) {
	fixture := "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\nSwapTotal: 0 kB\n"
	m := memoryFacts(fstest.MapFS{"proc/meminfo": {Data: []byte(fixture)}})
	sys := m["system"].(map[string]any)
	if sys["available_bytes"] != int64(400*1024) {
		t.Errorf("available_bytes = %v, want %d", sys["available_bytes"], 400*1024)
	}
	if _, ok := m["swap"]; ok {
		t.Errorf("memory.swap present with SwapTotal 0")
	}
}

func TestMemoryMissingFile(t *testing.T) {
	if m := memoryFacts(fstest.MapFS{}); m != nil {
		t.Errorf("memoryFacts without /proc/meminfo = %v, want nil", m)
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{1023, "1023 bytes"},
		{1024, "1.00 KiB"},
		{1536, "1.50 KiB"},
		{25276510208, "23.54 GiB"},
		{1024*1024 - 1, "1.00 MiB"}, // rounds up to 1024 KiB, which is 1 MiB
		{5 << 40, "5.00 TiB"},
	}
	for _, tt := range tests {
		if got := humanBytes(tt.n); got != tt.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestProcessorFacts(t *testing.T) {
	p := parseCPUInfo(cpuinfoFixture)
	want := map[string]any{
		"count":         4,
		"models":        []any{"Intel(R) Xeon(R) CPU @ 2.20GHz", "Intel(R) Xeon(R) CPU @ 2.20GHz", "Intel(R) Xeon(R) CPU @ 2.20GHz", "Intel(R) Xeon(R) CPU @ 2.20GHz"},
		"physicalcount": 1,
		"cores":         2,
		"threads":       2,
		"speed":         "2.20 GHz",
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("processors = %v\nwant %v", p, want)
	}
	if parseCPUInfo("") != nil {
		t.Errorf("empty cpuinfo gave facts")
	}
}

func TestVirtualFacts(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"docker by cgroup", map[string]string{"proc/1/cgroup": "12:cpu:/docker/0123abcd\n"}, "docker"},
		{"docker by dockerenv", map[string]string{".dockerenv": ""}, "docker"},
		{"lxc", map[string]string{"proc/1/cgroup": "1:name=systemd:/lxc/web1\n"}, "lxc"},
		{"nspawn", map[string]string{"proc/1/environ": "PATH=/bin\x00container=systemd-nspawn\x00"}, "systemd_nspawn"},
		{"gce by bios", map[string]string{"sys/class/dmi/id/bios_vendor": "Google\n"}, "gce"},
		{"ec2 by bios", map[string]string{"sys/class/dmi/id/bios_vendor": "Amazon EC2\n"}, "kvm"},
		{"vmware product", map[string]string{"sys/class/dmi/id/product_name": "VMware Virtual Platform\n"}, "vmware"},
		{"hypervisor flag", map[string]string{"proc/cpuinfo": "processor : 0\nflags : fpu hypervisor\n"}, "kvm"},
		{"physical", map[string]string{"proc/cpuinfo": "processor : 0\nflags : fpu sse\n"}, "physical"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range tt.files {
				fsys[k] = &fstest.MapFile{Data: []byte(v)}
			}
			got := virtualFacts(fsys)
			if got != tt.want {
				t.Errorf("virtual = %q, want %q", got, tt.want)
			}
			if isVirtual(got) != (tt.want != "physical") {
				t.Errorf("is_virtual(%q) = %v", got, isVirtual(got))
			}
		})
	}
}

func TestPrimaryInterface(t *testing.T) {
	route := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n" +
		"wlan0\t00000000\t010200C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n" +
		"eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
	if got := primaryInterface(route); got != "eth0" {
		t.Errorf("primaryInterface = %q, want eth0 (lowest metric default route)", got)
	}
	if got := primaryInterface("Iface\tDestination\n"); got != "" {
		t.Errorf("primaryInterface without default route = %q", got)
	}
}

func TestResolvDomain(t *testing.T) {
	tests := []struct{ conf, want string }{
		{"nameserver 1.1.1.1\ndomain corp.example\nsearch a.example b.example\n", "corp.example"},
		{"search a.example b.example\n", "a.example"},
		{"nameserver 1.1.1.1\n", ""},
	}
	for _, tt := range tests {
		if got := resolvDomain(tt.conf); got != tt.want {
			t.Errorf("resolvDomain(%q) = %q, want %q", tt.conf, got, tt.want)
		}
	}
}

func TestUptimeHash(t *testing.T) {
	tests := []struct {
		secs int64
		want string
	}{{59, "0:00 hours"}, {3*3600 + 7*60, "3:07 hours"}, {25 * 3600, "1 day"}, {50 * 3600, "2 days"}}
	for _, tt := range tests {
		h := uptimeHash(tt.secs)
		if h["uptime"] != tt.want || h["seconds"] != tt.secs {
			t.Errorf("uptimeHash(%d) = %v, want uptime %q", tt.secs, h, tt.want)
		}
	}
}

// TestCoreFromFixtures gathers every core fact from a fixture root: the file
// based facts come from the fixtures, with Facter's value types.
func TestCoreFromFixtures(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/os-release":     {Data: []byte("NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n")},
		"etc/debian_version": {Data: []byte("12.5\n")},
		"proc/meminfo":       {Data: []byte(meminfoFixture)},
		"proc/cpuinfo":       {Data: []byte(cpuinfoFixture)},
		"proc/uptime":        {Data: []byte("90061.52 170000.10\n")},
		".dockerenv":         {},
	}
	f := Core(fsys)
	checks := map[string]any{
		"os.name":                   "Debian",
		"os.family":                 "Debian",
		"os.release.full":           "12.5",
		"os.release.major":          "12",
		"os.release.minor":          "5",
		"processors.count":          4,
		"memory.system.total_bytes": int64(8052892 * 1024),
		"virtual":                   "docker",
		"is_virtual":                true,
		"system_uptime.seconds":     int64(90061),
		"system_uptime.days":        int64(1),
		"uptime_seconds":            int64(90061),
	}
	for name, want := range checks {
		got, ok := Lookup(f, name)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v (found %v), want %#v", name, got, ok, want)
		}
	}
	for _, name := range []string{"kernel", "kernelrelease", "kernelversion", "networking.hostname", "identity.uid", "timezone"} {
		if _, ok := Lookup(f, name); !ok {
			t.Errorf("%s missing", name)
		}
	}
}
