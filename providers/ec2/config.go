package ec2

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// validRegion matches region names such as us-east-1 or us-gov-west-1.
var validRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// settingsKnown are the provider settings ConfigFromSettings reads.
var settingsKnown = []string{"region", "regions", "endpoint", "profile", "allow_secrets_in_user_data", "page_size", "max_attempts"}

// credentialWords mark a provider setting that looks like a credential.
var credentialWords = []string{"access_key", "secret", "session_token", "password", "credential"}

// ConfigFromSettings reads a provider's settings from cloudmgr's provider
// config:
//
//	region                      one region (or regions: a comma list; the first is the default)
//	endpoint                    EC2 endpoint URL for every region (BaseEndpoint; moto, VPC endpoints)
//	profile                     shared-config profile for the default credential chain
//	allow_secrets_in_user_data  true lets secret-looking env values into user-data (default false)
//	page_size                   DescribeInstances MaxResults, 5..1000 (default 1000)
//	max_attempts                SDK attempts per call (default 3)
//
// Credentials are never read from settings: a setting that looks like one
// (an access key, a secret, a session token) is an error that says where
// credentials come from instead. Every problem is reported, each naming its
// setting.
func ConfigFromSettings(name string, settings map[string]string) (Config, error) {
	c := Config{Name: name}
	var problems []string
	bad := func(k, format string, args ...any) {
		problems = append(problems, "settings."+k+": "+fmt.Sprintf(format, args...))
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		v := strings.TrimSpace(settings[k])
		switch k {
		case "region", "regions":
			if len(c.Regions) > 0 {
				bad(k, "set either region or regions, not both")
				continue
			}
			for _, r := range strings.Split(v, ",") {
				r = strings.TrimSpace(r)
				if !validRegion.MatchString(r) {
					bad(k, "%q is not a region name like us-east-1", r)
					continue
				}
				if slices.Contains(c.Regions, r) {
					bad(k, "region %s is listed twice", r)
					continue
				}
				c.Regions = append(c.Regions, r)
			}
		case "endpoint":
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(k, "want an http:// or https:// URL, got %q", v)
				continue
			}
			if u.User != nil {
				bad(k, "credentials are never read from settings, not even from the endpoint URL")
				continue
			}
			c.Endpoint = v
		case "profile":
			c.Profile = v
		case "allow_secrets_in_user_data":
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad(k, "want true or false, got %q", v)
			}
			c.AllowSecretsInUserData = b
		case "page_size":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n < 5 || n > 1000 {
				bad(k, "want a number from 5 to 1000, got %q", v)
			}
			c.PageSize = int32(n)
		case "max_attempts":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 20 {
				bad(k, "want a number from 1 to 20, got %q", v)
			}
			c.MaxAttempts = n
		default:
			if looksLikeCredential(k) {
				bad(k, "credentials are never read from settings: the provider uses the AWS SDK's default chain "+
					"(AWS_* environment variables, shared config and profile, web identity, ECS or the EC2 instance role)")
				continue
			}
			bad(k, "unknown setting (known: %s)", strings.Join(settingsKnown, ", "))
		}
	}
	if len(c.Regions) == 0 && !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, "settings.region") }) {
		problems = append(problems, "settings.region: required: the region (or regions, a comma list) to manage instances in")
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("ec2 provider %s: %s", name, strings.Join(problems, "; "))
	}
	return c, nil
}

// looksLikeCredential reports whether a setting's name suggests a credential.
func looksLikeCredential(k string) bool {
	k = strings.ToLower(strings.ReplaceAll(k, "-", "_"))
	for _, w := range credentialWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return k == "key" || strings.HasSuffix(k, "_key") || strings.HasSuffix(k, "_key_id")
}
