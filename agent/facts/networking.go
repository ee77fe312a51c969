package facts

import (
	"io/fs"
	"net"
	"os"
	"regexp"
	"strings"
)

// networkingFacts builds Facter's networking fact: hostname, domain, fqdn,
// primary (the default route's interface), that interface's ip, ip6, mac,
// mtu, netmask(6), network(6), scope6, and interfaces with their bindings.
func networkingFacts(fsys fs.FS) map[string]any {
	n := map[string]any{}
	host, _ := os.Hostname()
	hostname, domain := splitFQDN(host)
	if domain == "" {
		domain = resolvDomain(string(readFile(fsys, "/etc/resolv.conf")))
	}
	if hostname != "" {
		n["hostname"] = hostname
		fqdn := hostname
		if domain != "" {
			fqdn += "." + domain
		}
		n["fqdn"] = fqdn
	}
	if domain != "" {
		n["domain"] = domain
	}

	ifaces := interfaceFacts()
	if len(ifaces) > 0 {
		n["interfaces"] = ifaces
	}
	primary := primaryInterface(string(readFile(fsys, "/proc/net/route")))
	if primary == "" {
		// Facter falls back to the first interface with an IPv4 address that is not loopback.
		for name, v := range ifaces {
			m := v.(map[string]any)
			if _, ok := m["ip"]; ok && name != "lo" && (primary == "" || name < primary) {
				primary = name
			}
		}
	}
	if p, ok := ifaces[primary].(map[string]any); ok {
		n["primary"] = primary
		for _, k := range []string{"ip", "ip6", "mac", "mtu", "netmask", "netmask6", "network", "network6", "scope6"} {
			if v, ok := p[k]; ok {
				n[k] = v
			}
		}
	}
	return n
}

// splitFQDN splits "host.example.com" into "host" and "example.com".
func splitFQDN(name string) (host, domain string) {
	h, d, _ := strings.Cut(name, ".")
	return h, d
}

var (
	resolvDomainRe = regexp.MustCompile(`(?m)^domain\s+(\S+)`)
	resolvSearchRe = regexp.MustCompile(`(?m)^search\s+(\S+)`)
)

// resolvDomain reads the domain (or first search domain) from resolv.conf.
func resolvDomain(content string) string {
	if m := resolvDomainRe.FindStringSubmatch(content); m != nil {
		return m[1]
	}
	if m := resolvSearchRe.FindStringSubmatch(content); m != nil {
		return m[1]
	}
	return ""
}

// primaryInterface is the interface of the default route in /proc/net/route
// (the one with the lowest metric when there are several).
func primaryInterface(route string) string {
	best, bestMetric := "", ""
	for i, line := range strings.Split(route, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		if best == "" || len(f[6]) < len(bestMetric) || (len(f[6]) == len(bestMetric) && f[6] < bestMetric) {
			best, bestMetric = f[0], f[6]
		}
	}
	return best
}

// interfaceFacts lists the network interfaces with their addresses.
func interfaceFacts() map[string]any {
	list, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := map[string]any{}
	for _, ifc := range list {
		m := map[string]any{"mtu": ifc.MTU}
		if len(ifc.HardwareAddr) > 0 {
			m["mac"] = ifc.HardwareAddr.String()
		}
		addrs, _ := ifc.Addrs()
		var b4, b6 []any
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip4 := ipn.IP.To4(); ip4 != nil {
				b4 = append(b4, map[string]any{
					"address": ip4.String(),
					"netmask": net.IP(ipn.Mask).String(),
					"network": ip4.Mask(ipn.Mask).String(),
				})
				continue
			}
			b6 = append(b6, map[string]any{
				"address": ipn.IP.String(),
				"netmask": net.IP(ipn.Mask).String(),
				"network": ipn.IP.Mask(ipn.Mask).String(),
				"scope6":  scope6(ipn.IP),
			})
		}
		if len(b4) > 0 {
			m["bindings"] = b4
			first := b4[0].(map[string]any)
			m["ip"], m["netmask"], m["network"] = first["address"], first["netmask"], first["network"]
		}
		if len(b6) > 0 {
			m["bindings6"] = b6
			pick := b6[0].(map[string]any)
			for _, b := range b6 {
				if b.(map[string]any)["scope6"] != "link" {
					pick = b.(map[string]any)
					break
				}
			}
			m["ip6"], m["netmask6"], m["network6"], m["scope6"] = pick["address"], pick["netmask"], pick["network"], pick["scope6"]
		}
		out[ifc.Name] = m
	}
	return out
}

// scope6 names an IPv6 address's scope as Facter does (host, link, global).
func scope6(ip net.IP) string {
	switch {
	case ip.IsLoopback():
		return "host"
	case ip.IsLinkLocalUnicast():
		return "link"
	case ip.IsMulticast():
		return "compat"
	}
	return "global"
}
