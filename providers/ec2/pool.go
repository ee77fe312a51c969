package ec2

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// poolSpec is a pool's parsed CreateRequest.Settings.
type poolSpec struct {
	LaunchTemplate        string // name, or id (lt-...)
	LaunchTemplateVersion string
	InstanceType          string // when the offering names none
	Region                string
	Subnets               []string
	SecurityGroups        []string
	InstanceProfile       string // name, or ARN
	KeyName               string
	Hibernate             bool
	RootVolumeSize        int32 // GiB; 0 keeps the image's
	RootVolumeType        string
	RootDeviceName        string
	UserData              *template.Template // nil: the default
	SSM                   map[string]string  // env key -> SSM parameter name
	Tags                  map[string]string  // extra tags
}

// poolSettingsKnown lists the pool settings, for error messages.
var poolSettingsKnown = []string{
	"launch_template", "launch_template_version", "instance_type", "region", "subnets",
	"security_groups", "iam_instance_profile", "key_name", "hibernate", "root_volume_size",
	"root_volume_type", "root_device_name", "user_data_template", "ssm.<ENV>", "tag.<KEY>",
}

var (
	validSubnet      = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	validGroup       = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	validTemplateID  = regexp.MustCompile(`^lt-[0-9a-f]{8,17}$`)
	validEnvKey      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	validSSMName     = regexp.MustCompile(`^(/?[A-Za-z0-9_.\-]+)+$|^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+$`)
	validVolumeTypes = []string{"gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"}
)

// reservedTagPrefixes may not be set with tag.<KEY>: they are ours or AWS's.
var reservedTagPrefixes = []string{"agentcloud-", "aws:"}

// CheckPoolSettings validates a pool's EC2 settings (CreateRequest.Settings)
// without calling AWS, so cloudmgr can reject a bad policy when it loads it.
// The settings are documented in docs/ec2.md.
func CheckPoolSettings(settings map[string]string) error {
	_, err := parsePool(settings)
	return err
}

// parsePool reads a pool's settings, reporting every problem with its setting.
func parsePool(settings map[string]string) (*poolSpec, error) {
	s := &poolSpec{SSM: map[string]string{}, Tags: map[string]string{}}
	var problems []string
	bad := func(k, format string, args ...any) {
		problems = append(problems, "settings."+k+": "+fmt.Sprintf(format, args...))
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		raw := settings[k]
		v := strings.TrimSpace(raw)
		switch {
		case k == "launch_template":
			s.LaunchTemplate = v
		case k == "launch_template_version":
			s.LaunchTemplateVersion = v
		case k == "instance_type":
			s.InstanceType = v
		case k == "region":
			if !validRegion.MatchString(v) {
				bad(k, "%q is not a region name like us-east-1", v)
			}
			s.Region = v
		case k == "subnets":
			s.Subnets = splitList(v)
			for _, id := range s.Subnets {
				if !validSubnet.MatchString(id) {
					bad(k, "%q is not a subnet id (subnet-...)", id)
				}
			}
		case k == "security_groups":
			s.SecurityGroups = splitList(v)
			for _, id := range s.SecurityGroups {
				if !validGroup.MatchString(id) {
					bad(k, "%q is not a security group id (sg-...)", id)
				}
			}
		case k == "iam_instance_profile":
			s.InstanceProfile = v
		case k == "key_name":
			s.KeyName = v
		case k == "hibernate":
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad(k, "want true or false, got %q", v)
			}
			s.Hibernate = b
		case k == "root_volume_size":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n < 1 || n > 65536 {
				bad(k, "want a size in GiB from 1 to 65536, got %q", v)
			}
			s.RootVolumeSize = int32(n)
		case k == "root_volume_type":
			if !slices.Contains(validVolumeTypes, v) {
				bad(k, "want one of %s, got %q", strings.Join(validVolumeTypes, ", "), v)
			}
			s.RootVolumeType = v
		case k == "root_device_name":
			if !strings.HasPrefix(v, "/dev/") {
				bad(k, "want a device name like /dev/xvda, got %q", v)
			}
			s.RootDeviceName = v
		case k == "user_data_template":
			t, err := template.New("user_data_template").Option("missingkey=error").Parse(raw)
			if err != nil {
				bad(k, "%v", err)
				continue
			}
			s.UserData = t
		case strings.HasPrefix(k, "ssm."):
			env := k[len("ssm."):]
			if !validEnvKey.MatchString(env) {
				bad(k, "%q is not an environment variable name", env)
			}
			if !validSSMName.MatchString(v) {
				bad(k, "%q is not an SSM parameter name or ARN", v)
			}
			s.SSM[env] = v
		case strings.HasPrefix(k, "tag."):
			key := k[len("tag."):]
			switch {
			case key == "" || len(key) > 128:
				bad(k, "a tag key must have 1 to 128 characters")
			case key == TagName || slices.ContainsFunc(reservedTagPrefixes, func(p string) bool { return strings.HasPrefix(strings.ToLower(key), p) }):
				bad(k, "tag %q is set by the provider or reserved by AWS", key)
			case len(v) > 256:
				bad(k, "a tag value must have at most 256 characters")
			}
			s.Tags[key] = v
		default:
			bad(k, "unknown setting (known: %s)", strings.Join(poolSettingsKnown, ", "))
		}
	}
	if s.LaunchTemplateVersion != "" && s.LaunchTemplate == "" {
		bad("launch_template_version", "needs settings.launch_template")
	}
	if len(s.Tags)+8 > 50 {
		bad("tag", "%d extra tags leave no room for the provider's within EC2's 50 per instance", len(s.Tags))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("pool settings: %s", strings.Join(problems, "; "))
	}
	return s, nil
}

// splitList splits a comma list, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
