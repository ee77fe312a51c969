package ec2

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agentcloud/agentcloud/providers"
)

// offline is a provider with two regions and no clients: prepare must not
// call AWS for the requests given to it here.
func offline(t *testing.T) *Provider {
	t.Helper()
	cfg, err := Config{Regions: []string{"us-east-1", "us-west-2"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return newWithClients(cfg, nil, map[string]API{})
}

func TestPrepare(t *testing.T) {
	base := func() providers.CreateRequest {
		return providers.CreateRequest{Name: "inst-pool-1", Owner: "o", Installation: "inst", Pool: "pool", Image: "ami-12345678",
			Offering: providers.Offering{Zone: "us-east-1a", MachineType: "t3.micro"}, Env: map[string]string{"AGENTCLOUD_POOL": "pool"}}
	}
	tests := []struct {
		name   string
		modify func(r *providers.CreateRequest)
		region string
		check  func(t *testing.T, in *ec2.RunInstancesInput)
	}{
		{"ami in an az", func(r *providers.CreateRequest) {}, "us-east-1", func(t *testing.T, in *ec2.RunInstancesInput) {
			if aws.ToString(in.ImageId) != "ami-12345678" || in.InstanceType != "t3.micro" || in.SubnetId != nil ||
				in.Placement == nil || aws.ToString(in.Placement.AvailabilityZone) != "us-east-1a" {
				t.Errorf("image/type/placement: %s %s %v %+v", aws.ToString(in.ImageId), in.InstanceType, in.SubnetId, in.Placement)
			}
			if in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != types.HttpTokensStateRequired {
				t.Errorf("IMDSv2 not required: %+v", in.MetadataOptions)
			}
			if in.HibernationOptions != nil || in.BlockDeviceMappings != nil || in.LaunchTemplate != nil || in.IamInstanceProfile != nil {
				t.Errorf("unasked options set: %+v", in)
			}
			if aws.ToInt32(in.MinCount) != 1 || aws.ToInt32(in.MaxCount) != 1 || aws.ToString(in.UserData) == "" {
				t.Errorf("counts %d/%d, user-data %q", aws.ToInt32(in.MinCount), aws.ToInt32(in.MaxCount), aws.ToString(in.UserData))
			}
			it, vol := tagMap(in.TagSpecifications[0].Tags), tagMap(in.TagSpecifications[1].Tags)
			if in.TagSpecifications[0].ResourceType != types.ResourceTypeInstance || in.TagSpecifications[1].ResourceType != types.ResourceTypeVolume {
				t.Errorf("tag specifications for %s and %s", in.TagSpecifications[0].ResourceType, in.TagSpecifications[1].ResourceType)
			}
			for k, v := range map[string]string{"Name": "inst-pool-1", providers.LabelOwner: "o", providers.LabelInstallation: "inst", providers.LabelPool: "pool"} {
				if it[k] != v || vol[k] != v {
					t.Errorf("tag %s: instance %q, volume %q, want %q", k, it[k], vol[k], v)
				}
			}
			if it[TagZone] != "us-east-1a" || vol[TagZone] != "" {
				t.Errorf("zone tag: instance %q, volume %q", it[TagZone], vol[TagZone])
			}
		}},
		{"subnet offering", func(r *providers.CreateRequest) { r.Offering.Zone = "subnet-0123456789abcdef0" }, "us-east-1", func(t *testing.T, in *ec2.RunInstancesInput) {
			if aws.ToString(in.SubnetId) != "subnet-0123456789abcdef0" || in.Placement != nil {
				t.Errorf("subnet %v placement %+v", aws.ToString(in.SubnetId), in.Placement)
			}
		}},
		{"subnet offering in the pool's region", func(r *providers.CreateRequest) {
			r.Offering.Zone = "subnet-0123456789abcdef0"
			r.Settings = map[string]string{"region": "us-west-2"}
		}, "us-west-2", nil},
		{"no zone: the pool's first subnet", func(r *providers.CreateRequest) {
			r.Offering.Zone = ""
			r.Settings = map[string]string{"subnets": "subnet-11111111,subnet-22222222"}
		}, "us-east-1", func(t *testing.T, in *ec2.RunInstancesInput) {
			if aws.ToString(in.SubnetId) != "subnet-11111111" {
				t.Errorf("subnet %v", aws.ToString(in.SubnetId))
			}
		}},
		{"az of the second region", func(r *providers.CreateRequest) { r.Offering.Zone = "us-west-2c" }, "us-west-2", nil},
		{"local zone", func(r *providers.CreateRequest) { r.Offering.Zone = "us-west-2-lax-1a" }, "us-west-2", nil},
		{"launch template by name", func(r *providers.CreateRequest) {
			r.Image, r.Offering.MachineType = "", ""
			r.Settings = map[string]string{"launch_template": "agents", "launch_template_version": "$Latest"}
		}, "us-east-1", func(t *testing.T, in *ec2.RunInstancesInput) {
			lt := in.LaunchTemplate
			if lt == nil || aws.ToString(lt.LaunchTemplateName) != "agents" || aws.ToString(lt.Version) != "$Latest" || in.ImageId != nil || in.InstanceType != "" {
				t.Errorf("launch template %+v, image %v, type %q", lt, in.ImageId, in.InstanceType)
			}
			if in.MetadataOptions != nil {
				t.Errorf("metadata options override the template's: %+v", in.MetadataOptions)
			}
		}},
		{"launch template by id with an AMI", func(r *providers.CreateRequest) {
			r.Settings = map[string]string{"launch_template": "lt-0123456789abcdef0"}
		}, "us-east-1", func(t *testing.T, in *ec2.RunInstancesInput) {
			if lt := in.LaunchTemplate; lt == nil || aws.ToString(lt.LaunchTemplateId) != "lt-0123456789abcdef0" || lt.Version != nil || aws.ToString(in.ImageId) != "ami-12345678" {
				t.Errorf("launch template %+v, image %v", lt, in.ImageId)
			}
		}},
		{"ssm image, profile by name, key, groups", func(r *providers.CreateRequest) {
			r.Image = "resolve:ssm:/aws/service/debian/release/12/latest/amd64"
			r.Settings = map[string]string{"iam_instance_profile": "agentcloud-agent", "key_name": "ops", "security_groups": "sg-11111111,sg-22222222"}
		}, "us-east-1", func(t *testing.T, in *ec2.RunInstancesInput) {
			if aws.ToString(in.ImageId) != "resolve:ssm:/aws/service/debian/release/12/latest/amd64" || aws.ToString(in.IamInstanceProfile.Name) != "agentcloud-agent" ||
				aws.ToString(in.KeyName) != "ops" || len(in.SecurityGroupIds) != 2 {
				t.Errorf("image %v profile %+v key %v groups %v", aws.ToString(in.ImageId), in.IamInstanceProfile, in.KeyName, in.SecurityGroupIds)
			}
		}},
		{"profile by arn", func(r *providers.CreateRequest) {
			r.Settings = map[string]string{"iam_instance_profile": "arn:aws:iam::123456789012:instance-profile/agent"}
		}, "us-east-1", func(t *testing.T, in *ec2.RunInstancesInput) {
			if p := in.IamInstanceProfile; p == nil || p.Name != nil || aws.ToString(p.Arn) != "arn:aws:iam::123456789012:instance-profile/agent" {
				t.Errorf("profile %+v", p)
			}
		}},
		{"hibernate with a root volume", func(r *providers.CreateRequest) {
			r.Settings = map[string]string{"hibernate": "true", "root_volume_size": "64", "root_device_name": "/dev/xvda", "tag.team": "ci"}
		}, "us-east-1", func(t *testing.T, in *ec2.RunInstancesInput) {
			if in.HibernationOptions == nil || !aws.ToBool(in.HibernationOptions.Configured) {
				t.Errorf("hibernation %+v", in.HibernationOptions)
			}
			if len(in.BlockDeviceMappings) != 1 {
				t.Fatalf("block devices %+v", in.BlockDeviceMappings)
			}
			b := in.BlockDeviceMappings[0]
			if aws.ToString(b.DeviceName) != "/dev/xvda" || aws.ToInt32(b.Ebs.VolumeSize) != 64 || !aws.ToBool(b.Ebs.Encrypted) ||
				!aws.ToBool(b.Ebs.DeleteOnTermination) || b.Ebs.VolumeType != types.VolumeTypeGp3 {
				t.Errorf("root volume %s %+v", aws.ToString(b.DeviceName), b.Ebs)
			}
			if tagMap(in.TagSpecifications[0].Tags)["team"] != "ci" || tagMap(in.TagSpecifications[1].Tags)["team"] != "ci" {
				t.Errorf("extra tag missing: %v", in.TagSpecifications)
			}
		}},
	}
	p := offline(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := base()
			tc.modify(&req)
			l, err := p.prepare(t.Context(), req)
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			if l.region != tc.region {
				t.Errorf("region %s, want %s", l.region, tc.region)
			}
			if tc.check != nil {
				tc.check(t, &l.input)
			}
		})
	}
}

func TestPrepareRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *providers.CreateRequest)
		want   string
	}{
		{"bad name", func(r *providers.CreateRequest) { r.Name = "a b" }, "invalid name"},
		{"no owner", func(r *providers.CreateRequest) { r.Owner = "" }, "no owner"},
		{"no image", func(r *providers.CreateRequest) { r.Image = "" }, "want an AMI id"},
		{"not an ami", func(r *providers.CreateRequest) { r.Image = "debian-12" }, `image "debian-12"`},
		{"no type", func(r *providers.CreateRequest) { r.Offering.MachineType = "" }, "no instance type"},
		{"zone of another region", func(r *providers.CreateRequest) { r.Offering.Zone = "eu-west-1a" }, "neither a subnet id"},
		{"zone garbage", func(r *providers.CreateRequest) { r.Offering.Zone = "us-east-1 a" }, "neither a subnet id"},
		{"bad subnet", func(r *providers.CreateRequest) { r.Offering.Zone = "subnet-xyz" }, "not a subnet id"},
		{"zone outside the pool's region", func(r *providers.CreateRequest) { r.Settings = map[string]string{"region": "us-west-2"} }, "not in settings.region us-west-2"},
		{"pool region not configured", func(r *providers.CreateRequest) { r.Settings = map[string]string{"region": "eu-west-1"} }, "not one of the provider's regions"},
		{"root size without a device for an ssm image", func(r *providers.CreateRequest) {
			r.Image = "resolve:ssm:/x"
			r.Settings = map[string]string{"root_volume_size": "10"}
		}, "needs settings.root_device_name"},
		{"bad settings", func(r *providers.CreateRequest) { r.Settings = map[string]string{"hibernate": "sometimes"} }, "settings.hibernate"},
		{"secret env", func(r *providers.CreateRequest) { r.Env["AGENTCLOUD_BROKER_PASSCODE"] = "hunter2" }, "settings.ssm.AGENTCLOUD_BROKER_PASSCODE"},
		{"newline in env", func(r *providers.CreateRequest) { r.Env["X"] = "a\nb" }, "newline"},
	}
	p := offline(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := providers.CreateRequest{Name: "n-1", Owner: "o", Pool: "p", Image: "ami-12345678",
				Offering: providers.Offering{Zone: "us-east-1a", MachineType: "t3.micro"}, Env: map[string]string{}}
			tc.modify(&req)
			if _, err := p.prepare(t.Context(), req); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("prepare = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestAttemptAddsTokenAndGeneration(t *testing.T) {
	p := offline(t)
	l, err := p.prepare(t.Context(), providers.CreateRequest{Name: "n-1", Owner: "o", Image: "ami-12345678",
		Offering: providers.Offering{MachineType: "t3.micro"}})
	if err != nil {
		t.Fatal(err)
	}
	a0, a3 := l.attempt(0), l.attempt(3)
	if aws.ToString(a0.ClientToken) != clientToken("o", "n-1", 0) || aws.ToString(a3.ClientToken) != clientToken("o", "n-1", 3) {
		t.Errorf("tokens %s, %s", aws.ToString(a0.ClientToken), aws.ToString(a3.ClientToken))
	}
	if g := tagMap(a3.TagSpecifications[0].Tags)[TagGeneration]; g != "3" {
		t.Errorf("generation tag %q, want 3", g)
	}
	if _, ok := tagMap(l.input.TagSpecifications[0].Tags)[TagGeneration]; ok || l.input.ClientToken != nil {
		t.Error("attempt changed the launch's own input")
	}
	if len(tagMap(a0.TagSpecifications[0].Tags)) != len(tagMap(a3.TagSpecifications[0].Tags)) {
		t.Error("attempts carry different tag sets")
	}
}

func TestClientToken(t *testing.T) {
	a := clientToken("owner", "inst-pool-1", 0)
	if a != clientToken("owner", "inst-pool-1", 0) {
		t.Error("the token is not deterministic")
	}
	for _, other := range []string{clientToken("owner2", "inst-pool-1", 0), clientToken("owner", "inst-pool-2", 0), clientToken("owner", "inst-pool-1", 1),
		clientToken("owne", "rinst-pool-1", 0)} {
		if other == a {
			t.Errorf("token %s collides", other)
		}
	}
	if len(clientToken(strings.Repeat("o", 300), strings.Repeat("n", 300), 1<<30)) > 64 {
		t.Error("a token is longer than EC2's 64 characters")
	}
}
