package gce

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// providerSettings are the keys ConfigFromSettings reads.
var providerSettings = []string{"project", "zones", "endpoint", "page_size", "operation_timeout"}

// credentialSettings are keys people try for credentials; they get a
// pointed refusal.
var credentialSettings = []string{"credentials", "credentials_file", "credentials_json", "key", "key_file", "api_key", "token", "service_account_key"}

// ConfigFromSettings reads a GCE provider's settings from cloudmgr's config:
// project (required), zones (required; comma or space separated, the first
// is the default zone), endpoint (tests), page_size and operation_timeout.
// Credentials are never settings: the provider uses Application Default
// Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, or the
// metadata server's service account).
func ConfigFromSettings(name string, settings map[string]string) (Config, error) {
	cfg := Config{Name: name}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		v := strings.TrimSpace(settings[k])
		switch k {
		case "project":
			cfg.Project = v
		case "zones":
			cfg.Zones = splitList(v)
		case "endpoint":
			cfg.Endpoint = v
		case "page_size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 500 {
				problems = append(problems, fmt.Sprintf("settings.page_size: want 1 to 500, got %q", v))
			}
			cfg.PageSize = n
		case "operation_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				problems = append(problems, fmt.Sprintf("settings.operation_timeout: want a positive duration, got %q", v))
			}
			cfg.OperationTimeout = d
		default:
			if slices.Contains(credentialSettings, k) {
				problems = append(problems, fmt.Sprintf("settings.%s: credentials are not settings; the GCE provider uses Application Default Credentials "+
					"(GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, or the VM's service account)", k))
				continue
			}
			problems = append(problems, fmt.Sprintf("settings.%s: unknown setting (known: %s)", k, strings.Join(providerSettings, ", ")))
		}
	}
	if len(problems) > 0 {
		return cfg, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	checked, err := cfg.withDefaults()
	if err != nil {
		return cfg, err
	}
	return checked, nil
}

// splitList splits a comma or space separated list, dropping empty items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// poolSettingKeys are the keys of a pool's settings (policy `settings:`);
// metadata.<key> and labels.<key> add metadata items and labels.
var poolSettingKeys = []string{
	"instance_template", "machine_type", "disk_size_gb", "disk_type", "network", "subnetwork",
	"external_ip", "service_account", "scopes", "tags", "startup_script", "metadata.<key>", "labels.<key>",
}

// poolSettings is a pool's GCE settings, read from CreateRequest.Settings.
type poolSettings struct {
	// template is sourceInstanceTemplate ("global/instanceTemplates/x", a
	// regional path, or a URL); the request's fields override it.
	template string
	// machineType is used when the offering names none.
	machineType string
	// diskSizeGB and diskType size the boot disk (0 and "": the image's size
	// and pd-balanced).
	diskSizeGB int64
	diskType   string
	// network and subnetwork place the interface (default: the "default"
	// network, unless a template gives one).
	network, subnetwork string
	// externalIP gives the interface an ephemeral external address.
	externalIP bool
	// serviceAccount and scopes are the VM's identity.
	serviceAccount string
	scopes         []string
	// tags are network tags.
	tags []string
	// startupScript false leaves startup-script out (the image's unit then
	// fetches the configuration by itself).
	startupScript bool
	// metadata and labels are extra items.
	metadata map[string]string
	labels   map[string]string
}

// ValidatePoolSettings checks a pool's GCE settings (policy `settings:`)
// and returns every problem at once, each naming its key.
func ValidatePoolSettings(settings map[string]string) error {
	_, err := parsePoolSettings(settings)
	return err
}

// parsePoolSettings reads a pool's settings.
func parsePoolSettings(settings map[string]string) (poolSettings, error) {
	ps := poolSettings{startupScript: true, metadata: map[string]string{}, labels: map[string]string{}}
	var problems []string
	bad := func(k, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("settings.%s: %s", k, fmt.Sprintf(format, args...)))
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		v := strings.TrimSpace(settings[k])
		switch {
		case k == "instance_template":
			ps.template = v
		case k == "machine_type":
			ps.machineType = v
		case k == "disk_size_gb":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 10 || n > 65536 {
				bad(k, "want a size in GB from 10 to 65536, got %q", v)
			}
			ps.diskSizeGB = n
		case k == "disk_type":
			ps.diskType = v
		case k == "network":
			ps.network = v
		case k == "subnetwork":
			ps.subnetwork = v
		case k == "external_ip" || k == "startup_script":
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad(k, "want true or false, got %q", v)
			}
			if k == "external_ip" {
				ps.externalIP = b
			} else {
				ps.startupScript = b
			}
		case k == "service_account":
			if !strings.Contains(v, "@") {
				bad(k, "want a service account email, got %q", v)
			}
			ps.serviceAccount = v
		case k == "scopes":
			for _, s := range splitList(v) {
				if !strings.HasPrefix(s, "https://") {
					s = "https://www.googleapis.com/auth/" + s
				}
				ps.scopes = append(ps.scopes, s)
			}
		case k == "tags":
			ps.tags = splitList(v)
			for _, t := range ps.tags {
				if !nameRE.MatchString(t) {
					bad(k, "tag %q: want lowercase letters, digits and '-', starting with a letter", t)
				}
			}
		case strings.HasPrefix(k, "metadata.") && len(k) > len("metadata."):
			mk := strings.TrimPrefix(k, "metadata.")
			switch {
			case strings.HasPrefix(mk, "agentcloud-"):
				bad(k, "metadata keys starting with agentcloud- are the provider's own")
			case mk == MetadataStartupScript:
				bad(k, "the provider sets startup-script; use startup_script: false and the image's unit instead")
			}
			ps.metadata[mk] = settings[k]
		case strings.HasPrefix(k, "labels.") && len(k) > len("labels."):
			lk := strings.TrimPrefix(k, "labels.")
			if strings.HasPrefix(lk, "agentcloud-") {
				bad(k, "labels starting with agentcloud- are the provider's own")
			}
			ps.labels[labelKey(lk)] = labelValue(v)
		default:
			bad(k, "unknown setting (known: %s)", strings.Join(poolSettingKeys, ", "))
		}
	}
	if len(ps.scopes) > 0 && ps.serviceAccount == "" {
		bad("scopes", "scopes need a service_account")
	}
	if ps.serviceAccount != "" && len(ps.scopes) == 0 {
		ps.scopes = []string{"https://www.googleapis.com/auth/cloud-platform"}
	}
	if len(problems) > 0 {
		return ps, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return ps, nil
}
