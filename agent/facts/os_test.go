package facts

import (
	"reflect"
	"testing"
	"testing/fstest"
)

func TestOSFacts(t *testing.T) {
	tests := []struct {
		name, osRelease, debianVersion, machine string
		wantName, wantFamily, wantArch          string
		wantRelease                             map[string]any
	}{
		{
			name: "debian reads debian_version",
			osRelease: `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
`,
			debianVersion: "12.05\n", machine: "x86_64",
			wantName: "Debian", wantFamily: "Debian", wantArch: "amd64",
			wantRelease: map[string]any{"full": "12.05", "major": "12", "minor": "5"},
		},
		{
			name: "ubuntu uses VERSION_ID whole",
			osRelease: `NAME="Ubuntu"
VERSION_ID="22.04"
ID=ubuntu
ID_LIKE=debian
`,
			machine:  "aarch64",
			wantName: "Ubuntu", wantFamily: "Debian", wantArch: "aarch64",
			wantRelease: map[string]any{"full": "22.04", "major": "22.04"},
		},
		{
			name: "red hat joins two words and splits the version",
			osRelease: `NAME="Red Hat Enterprise Linux"
VERSION_ID="9.3"
ID="rhel"
ID_LIKE="fedora"
`,
			machine:  "x86_64",
			wantName: "RedHat", wantFamily: "RedHat", wantArch: "x86_64",
			wantRelease: map[string]any{"full": "9.3", "major": "9", "minor": "3"},
		},
		{
			name: "rocky is in the red hat family by ID_LIKE",
			osRelease: `NAME="Rocky Linux"
VERSION_ID="9.4"
ID="rocky"
ID_LIKE="rhel centos fedora"
`,
			machine:  "x86_64",
			wantName: "Rocky", wantFamily: "RedHat", wantArch: "x86_64",
			wantRelease: map[string]any{"full": "9.4", "major": "9", "minor": "4"},
		},
		{
			name: "unknown distribution: family is the id capitalized",
			osRelease: `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
`,
			machine:  "i686",
			wantName: "Alpine", wantFamily: "Alpine", wantArch: "i386",
			wantRelease: map[string]any{"full": "3.19.1", "major": "3.19.1"},
		},
		{
			name: "version without a dot gets .0",
			osRelease: `NAME="Gentoo"
ID=gentoo
VERSION_ID=2
`,
			machine:  "x86_64",
			wantName: "Gentoo", wantFamily: "Gentoo", wantArch: "x86_64",
			wantRelease: map[string]any{"full": "2.0", "major": "2.0"},
		},
		{
			name:      "arch: two words capitalized, no release",
			osRelease: "NAME=\"Arch Linux\"\nID=arch\n",
			machine:   "x86_64",
			wantName:  "Archlinux", wantFamily: "Archlinux", wantArch: "x86_64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"etc/os-release": {Data: []byte(tt.osRelease)}}
			if tt.debianVersion != "" {
				fsys["etc/debian_version"] = &fstest.MapFile{Data: []byte(tt.debianVersion)}
			}
			o := osFacts(fsys, tt.machine)
			if o["name"] != tt.wantName || o["family"] != tt.wantFamily || o["architecture"] != tt.wantArch {
				t.Errorf("name, family, architecture = %v, %v, %v; want %v, %v, %v",
					o["name"], o["family"], o["architecture"], tt.wantName, tt.wantFamily, tt.wantArch)
			}
			if o["hardware"] != tt.machine {
				t.Errorf("hardware = %v, want %v", o["hardware"], tt.machine)
			}
			got, _ := o["release"].(map[string]any)
			if tt.wantRelease == nil {
				if got != nil {
					t.Errorf("release = %v, want none", got)
				}
			} else if !reflect.DeepEqual(got, tt.wantRelease) {
				t.Errorf("release = %v, want %v", got, tt.wantRelease)
			}
		})
	}
}

func TestParseOSReleaseKeepsValuesAndLowercasesKeys(t *testing.T) {
	got := parseOSRelease("# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nHOME_URL=\"https://x/?a=b\"\n\nbroken line\n")
	want := map[string]string{"pretty_name": "Debian GNU/Linux 12 (bookworm)", "home_url": "https://x/?a=b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseOSRelease = %v, want %v", got, want)
	}
}

func TestKernelVersions(t *testing.T) {
	tests := []struct{ release, version, maj string }{
		{"6.1.0-18-amd64", "6.1.0", "6.1"},
		{"6.18.44-fc-v657", "6.18.44", "6.18"},
		{"5.15.0", "5.15.0", "5.15"},
		{"4.4", "4.4", "4.4"},
	}
	for _, tt := range tests {
		if got := kernelVersion(tt.release); got != tt.version {
			t.Errorf("kernelVersion(%q) = %q, want %q", tt.release, got, tt.version)
		}
		if got := kernelMajVersion(tt.release); got != tt.maj {
			t.Errorf("kernelMajVersion(%q) = %q, want %q", tt.release, got, tt.maj)
		}
	}
}
