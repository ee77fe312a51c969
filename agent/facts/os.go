package facts

import (
	"io/fs"
	"regexp"
	"strings"
)

// parseOSRelease reads /etc/os-release content as Facter does: one KEY=value
// per line, double quotes removed, keys lower-cased.
func parseOSRelease(content string) map[string]string {
	kv := map[string]string{}
	for _, line := range strings.Split(content, "\n") {
		line = strings.ReplaceAll(strings.TrimSpace(line), `"`, "")
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		kv[strings.ToLower(k)] = v
	}
	return kv
}

// osName derives os.name from the os-release NAME the way Facter does:
// the first word, or the first two joined for Red Hat, Oracle, Arch, Manjaro.
func osName(name string) string {
	lower := strings.ToLower(name)
	words := strings.Fields(name)
	if len(words) == 0 {
		return ""
	}
	switch {
	case hasAnyPrefix(lower, "red", "oracle", "arch", "manjaro"):
		n := words[0]
		if len(words) > 1 {
			n += words[1]
		}
		if hasAnyPrefix(lower, "arch", "manjaro") {
			n = capitalize(n)
		}
		return n
	case strings.HasSuffix(lower, "mariner"):
		return words[len(words)-1]
	case strings.HasPrefix(lower, "virtuozzo"):
		return words[0] + "Linux"
	}
	return words[0]
}

// osFamilies maps Facter's os families to the ids that belong to them.
var osFamilies = []struct {
	family string
	ids    []string
}{
	{"RedHat", []string{"redhat", "rhel", "fedora", "centos", "scientific", "ascendos", "cloudlinux", "psbm",
		"oraclelinux", "ovs", "oel", "amazon", "xenserver", "xcp-ng", "virtuozzo", "photon", "mariner"}},
	{"Debian", []string{"debian", "ubuntu", "huaweios", "linuxmint", "devuan", "kde"}},
	{"Suse", []string{"sles", "sled", "suse"}},
	{"Gentoo", []string{"gentoo"}},
	{"Archlinux", []string{"arch", "manjaro"}},
	{"Mandrake", []string{"mandrake", "mandriva", "mageia"}},
}

// osFamily derives os.family from ID_LIKE (or ID) as Facter does: a family
// whose ids occur in it, else the id itself capitalized.
func osFamily(idLike string) string {
	lower := strings.ToLower(idLike)
	for _, fam := range osFamilies {
		for _, id := range fam.ids {
			if strings.Contains(lower, id) {
				return fam.family
			}
		}
	}
	return capitalize(idLike)
}

var (
	leadingZero = regexp.MustCompile(`^0([1-9])`)
	i386        = regexp.MustCompile(`i[3456]86|pentium`)
)

// releaseFacts splits a version the way Facter's Debian release fact does.
func releaseFacts(version string) map[string]any {
	parts := strings.Split(version, ".")
	r := map[string]any{"full": version, "major": parts[0]}
	if len(parts) > 1 {
		r["minor"] = leadingZero.ReplaceAllString(parts[1], "$1")
	}
	return r
}

// osFacts builds the os fact from /etc/os-release, /etc/debian_version and the
// machine name uname gives.
func osFacts(fsys fs.FS, machine string) map[string]any {
	o := map[string]any{}
	rel := parseOSRelease(string(readFile(fsys, "/etc/os-release")))
	family := ""
	if rel["name"] != "" {
		o["name"] = osName(rel["name"])
	}
	idLike := rel["id_like"]
	if idLike == "" {
		idLike = rel["id"]
	}
	if idLike != "" {
		family = osFamily(idLike)
		o["family"] = family
	}
	if machine != "" {
		o["hardware"] = machine
		o["architecture"] = architecture(machine, family)
	}
	if r := osRelease(fsys, rel, family); r != nil {
		o["release"] = r
	}
	distro := map[string]any{}
	if v := rel["version_codename"]; v != "" {
		distro["codename"] = v
	}
	if v := rel["pretty_name"]; v != "" {
		distro["description"] = v
	}
	if v := rel["id"]; v != "" {
		distro["id"] = capitalize(v)
	}
	if r, ok := o["release"]; ok && family == "Debian" {
		distro["release"] = r
	}
	if len(distro) > 0 {
		o["distro"] = distro
	}
	o["selinux"] = map[string]any{"enabled": exists(fsys, "/sys/fs/selinux/enforce")}
	return o
}

// osRelease picks the release the way Facter does per distribution: Debian
// reads /etc/debian_version; Ubuntu and other Linux use VERSION_ID whole
// (other Linux with ".0" appended when it has no dot); Red Hat and SUSE split
// VERSION_ID into full, major and minor.
func osRelease(fsys fs.FS, rel map[string]string, family string) map[string]any {
	id := strings.ToLower(rel["id"])
	versionID := rel["version_id"]
	switch {
	case id == "debian":
		if v := strings.TrimSpace(string(readFile(fsys, "/etc/debian_version"))); v != "" {
			return releaseFacts(v)
		}
	case id == "ubuntu":
		if versionID != "" {
			return map[string]any{"full": versionID, "major": versionID}
		}
		return nil
	case family == "RedHat" || family == "Suse":
		if versionID != "" {
			parts := strings.Split(versionID, ".")
			r := map[string]any{"full": versionID, "major": parts[0]}
			if len(parts) > 1 {
				r["minor"] = parts[1]
			}
			return r
		}
		return nil
	}
	if versionID == "" {
		return nil
	}
	if !strings.Contains(versionID, ".") {
		versionID += ".0"
	}
	return map[string]any{"full": versionID, "major": versionID}
}

// architecture maps the uname machine to os.architecture: i?86 is i386, and
// Debian-family systems call x86_64 amd64.
func architecture(machine, family string) string {
	if i386.MatchString(machine) {
		return "i386"
	}
	if machine == "x86_64" && family == "Debian" {
		return "amd64"
	}
	return machine
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
