package ec2

import (
	"reflect"
	"strings"
	"testing"
)

func TestConfigFromSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     Config
		errs     []string // substrings of the error; none: no error
	}{
		{"one region", map[string]string{"region": "us-east-1"}, Config{Name: "aws", Regions: []string{"us-east-1"}}, nil},
		{"everything", map[string]string{
			"regions": "eu-west-1, us-east-1", "endpoint": "http://127.0.0.1:5000", "profile": "ci",
			"allow_secrets_in_user_data": "true", "page_size": "50", "max_attempts": "5",
		}, Config{Name: "aws", Regions: []string{"eu-west-1", "us-east-1"}, Endpoint: "http://127.0.0.1:5000", Profile: "ci",
			AllowSecretsInUserData: true, PageSize: 50, MaxAttempts: 5}, nil},
		{"no region", map[string]string{}, Config{}, []string{"settings.region: required"}},
		{"access key", map[string]string{"region": "us-east-1", "access_key_id": "AKIA..."},
			Config{}, []string{"settings.access_key_id: credentials are never read from settings", "default chain"}},
		{"secret key", map[string]string{"region": "us-east-1", "aws_secret_access_key": "x"}, Config{}, []string{"settings.aws_secret_access_key: credentials"}},
		{"session token", map[string]string{"region": "us-east-1", "session_token": "x"}, Config{}, []string{"settings.session_token: credentials"}},
		{"key in the endpoint", map[string]string{"region": "us-east-1", "endpoint": "https://AKIA:s3cret@ec2.example"}, Config{}, []string{"settings.endpoint: credentials"}},
		{"every problem", map[string]string{
			"region": "US East", "endpoint": "127.0.0.1:5000", "page_size": "2", "max_attempts": "0",
			"allow_secrets_in_user_data": "maybe", "zone": "x",
		}, Config{}, []string{
			`settings.region: "US East" is not a region`, "settings.endpoint: want an http", "settings.page_size: want a number from 5",
			"settings.max_attempts: want a number from 1", "settings.allow_secrets_in_user_data: want true or false",
			"settings.zone: unknown setting",
		}},
		{"both region and regions", map[string]string{"region": "us-east-1", "regions": "us-west-2"}, Config{}, []string{"set either region or regions"}},
		{"duplicate region", map[string]string{"regions": "us-east-1,us-east-1"}, Config{}, []string{"listed twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromSettings("aws", tc.settings)
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("ConfigFromSettings: %v", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("ConfigFromSettings = %+v, want %+v", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ConfigFromSettings(%v) = %+v, want an error", tc.settings, got)
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if !strings.HasPrefix(err.Error(), "ec2 provider aws: ") {
				t.Errorf("error %q does not name the provider", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Regions: []string{"us-east-1"}}.withDefaults()
	if err != nil || c.Name != "ec2" || c.PageSize != 1000 || c.MaxAttempts != 3 {
		t.Errorf("defaults = %+v, %v", c, err)
	}
	for _, bad := range []Config{{}, {Regions: []string{"Mars"}}, {Regions: []string{"us-east-1"}, PageSize: 2000}, {Regions: []string{"us-east-1"}, MaxAttempts: -1}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("withDefaults(%+v) accepted it", bad)
		}
	}
}

func TestCheckPoolSettings(t *testing.T) {
	good := map[string]string{
		"launch_template": "agents", "launch_template_version": "$Latest", "instance_type": "t3.small",
		"region": "us-east-1", "subnets": "subnet-0123456789abcdef0, subnet-12345678", "security_groups": "sg-0123456789abcdef0",
		"iam_instance_profile": "agentcloud-agent", "key_name": "ops", "hibernate": "true", "root_volume_size": "40",
		"root_volume_type": "gp3", "root_device_name": "/dev/xvda", "user_data_template": "#!/bin/sh\n{{.EnvFile}}",
		"ssm.AGENTCLOUD_TOKEN": "/agentcloud/token", "tag.cost-center": "ci",
	}
	if err := CheckPoolSettings(good); err != nil {
		t.Fatalf("CheckPoolSettings(good): %v", err)
	}
	s, _ := parsePool(good)
	if len(s.Subnets) != 2 || !s.Hibernate || s.RootVolumeSize != 40 || s.SSM["AGENTCLOUD_TOKEN"] != "/agentcloud/token" || s.Tags["cost-center"] != "ci" {
		t.Errorf("parsed %+v", s)
	}
	tests := []struct {
		key, value, want string
	}{
		{"subnets", "net-1", `"net-1" is not a subnet id`},
		{"security_groups", "default", `"default" is not a security group id`},
		{"hibernate", "yes please", "want true or false"},
		{"root_volume_size", "0", "want a size in GiB"},
		{"root_volume_type", "ssd", "want one of gp2"},
		{"root_device_name", "xvda", "want a device name"},
		{"user_data_template", "{{.Nope", "settings.user_data_template:"},
		{"ssm.BAD-NAME", "/p", "is not an environment variable name"},
		{"ssm.TOKEN", "has space", "is not an SSM parameter name"},
		{"tag.agentcloud-owner", "me", "reserved"},
		{"tag.Name", "me", "reserved"},
		{"tag.aws:x", "me", "reserved"},
		{"region", "moon-1", "is not a region name"},
		{"launch_template_version", "2", "needs settings.launch_template"},
		{"cpus", "2", "settings.cpus: unknown setting"},
	}
	for _, tc := range tests {
		err := CheckPoolSettings(map[string]string{tc.key: tc.value})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckPoolSettings(%s=%q) = %v, want an error with %q", tc.key, tc.value, err, tc.want)
		}
	}
}

// New builds a provider from settings with the default chain's credentials
// (the test's environment), and refuses to start without any.
func TestNew(t *testing.T) {
	cfg, err := ConfigFromSettings("aws", map[string]string{"regions": "us-east-1,eu-west-1", "endpoint": "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if p.Name() != "aws" || len(p.clients) != 2 || !p.Capabilities().Supports("suspend") || !p.Capabilities().Supports("stop") {
		t.Errorf("provider %s with %d clients, capabilities %v", p.Name(), len(p.clients), p.Capabilities())
	}
	if caps := new(Provider).Capabilities(); len(caps.SuspendModes) != 2 {
		t.Errorf("a zero Provider's capabilities %v (cloudmgr asks before building one)", caps)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := New(t.Context(), cfg, nil); err == nil || !strings.Contains(err.Error(), "no AWS credentials from the SDK's default chain") {
		t.Errorf("New without credentials: %v", err)
	}
	if _, err := New(t.Context(), Config{Name: "aws"}, nil); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("New without a region: %v", err)
	}
}
