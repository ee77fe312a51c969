package ec2

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agentcloud/agentcloud/providers"
)

// validName matches instance names: they go into tags, tokens and logs.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// validZoneTail matches what follows the region in an availability zone or
// local zone name ("a", "-lax-1a").
var validZoneTail = regexp.MustCompile(`^(-[a-z0-9]+)*[a-z]$`)

// launch is one request made ready for RunInstances: everything but the
// ClientToken and the generation tag, which change per attempt.
type launch struct {
	req    providers.CreateRequest
	region string
	where  string // the offering as logs and errors show it
	input  ec2.RunInstancesInput
}

// prepare validates a request and builds its launch. It may call
// DescribeSubnets (an AZ offering with the pool's subnets) and DescribeImages
// (a root volume size without root_device_name), both cached.
func (p *Provider) prepare(ctx context.Context, req providers.CreateRequest) (*launch, error) {
	if !validName.MatchString(req.Name) {
		return nil, fmt.Errorf("invalid name %q: want letters, digits, '.', '_' or '-', at most 200", req.Name)
	}
	if req.Owner == "" {
		return nil, fmt.Errorf("no owner: every instance must carry the %s tag", providers.LabelOwner)
	}
	spec, err := parsePool(req.Settings)
	if err != nil {
		return nil, err
	}
	l := &launch{req: req}
	in := &l.input
	in.MinCount, in.MaxCount = aws.Int32(1), aws.Int32(1)

	zone := req.Offering.Zone
	if l.region, err = p.regionFor(spec, zone); err != nil {
		return nil, err
	}
	subnet, az, err := p.placement(ctx, l.region, spec, zone)
	if err != nil {
		return nil, err
	}
	if subnet != "" {
		in.SubnetId = aws.String(subnet)
	}
	if az != "" {
		in.Placement = &types.Placement{AvailabilityZone: aws.String(az)}
	}

	switch img := req.Image; {
	case strings.HasPrefix(img, "ami-") || strings.HasPrefix(img, "resolve:ssm:"):
		in.ImageId = aws.String(img)
	case img == "" && spec.LaunchTemplate != "":
	default:
		return nil, fmt.Errorf("image %q: want an AMI id (ami-...), resolve:ssm:<parameter>, or none with settings.launch_template", img)
	}
	if spec.LaunchTemplate != "" {
		lt := &types.LaunchTemplateSpecification{}
		if validTemplateID.MatchString(spec.LaunchTemplate) {
			lt.LaunchTemplateId = aws.String(spec.LaunchTemplate)
		} else {
			lt.LaunchTemplateName = aws.String(spec.LaunchTemplate)
		}
		if spec.LaunchTemplateVersion != "" {
			lt.Version = aws.String(spec.LaunchTemplateVersion)
		}
		in.LaunchTemplate = lt
	} else {
		// Without a template, require IMDSv2: the metadata service then
		// needs a session token, which blocks SSRF-style credential theft.
		in.MetadataOptions = &types.InstanceMetadataOptionsRequest{
			HttpTokens:   types.HttpTokensStateRequired,
			HttpEndpoint: types.InstanceMetadataEndpointStateEnabled,
		}
	}

	itype := req.Offering.MachineType
	if itype == "" {
		itype = spec.InstanceType
	}
	switch {
	case itype != "":
		in.InstanceType = types.InstanceType(itype)
	case spec.LaunchTemplate == "":
		return nil, fmt.Errorf("no instance type: set the offering's machine_type or settings.instance_type")
	}
	l.where = fmt.Sprintf("offering %s (region %s", req.Offering, l.region)
	if subnet != "" {
		l.where += ", subnet " + subnet
	}
	l.where += ")"

	if len(spec.SecurityGroups) > 0 {
		in.SecurityGroupIds = spec.SecurityGroups
	}
	if prof := spec.InstanceProfile; prof != "" {
		if strings.HasPrefix(prof, "arn:") {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Arn: aws.String(prof)}
		} else {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: aws.String(prof)}
		}
	}
	if spec.KeyName != "" {
		in.KeyName = aws.String(spec.KeyName)
	}
	if spec.Hibernate {
		in.HibernationOptions = &types.HibernationOptionsRequest{Configured: aws.Bool(true)}
	}
	if spec.RootVolumeSize > 0 || spec.RootVolumeType != "" {
		bdm, err := p.rootVolume(ctx, l.region, req.Image, spec)
		if err != nil {
			return nil, err
		}
		in.BlockDeviceMappings = []types.BlockDeviceMapping{bdm}
	}

	ud, clear, err := userData(req, spec, p.cfg.AllowSecretsInUserData)
	if err != nil {
		return nil, err
	}
	if len(clear) > 0 {
		p.log.Warn("secret-looking env values go into user-data in clear (allow_secrets_in_user_data)", "instance", req.Name, "env", clear)
	}
	in.UserData = aws.String(ud)

	volumeTags := req.Labels()
	volumeTags[TagName] = req.Name
	maps.Copy(volumeTags, spec.Tags)
	instanceTags := maps.Clone(volumeTags)
	if zone != "" {
		instanceTags[TagZone] = zone
	}
	in.TagSpecifications = []types.TagSpecification{
		{ResourceType: types.ResourceTypeInstance, Tags: toTags(instanceTags)},
		{ResourceType: types.ResourceTypeVolume, Tags: toTags(volumeTags)},
	}
	return l, nil
}

// attempt returns the launch's RunInstances input for one generation.
func (l *launch) attempt(gen int) *ec2.RunInstancesInput {
	in := l.input
	in.ClientToken = aws.String(clientToken(l.req.Owner, l.req.Name, gen))
	in.TagSpecifications = slices.Clone(in.TagSpecifications)
	inst := in.TagSpecifications[0]
	inst.Tags = append(slices.Clone(inst.Tags), types.Tag{Key: aws.String(TagGeneration), Value: aws.String(strconv.Itoa(gen))})
	in.TagSpecifications[0] = inst
	return &in
}

// regionFor picks the region of a request: the availability zone's, else the
// pool's region setting, else the provider's default.
func (p *Provider) regionFor(spec *poolSpec, zone string) (string, error) {
	if spec.Region != "" && !slices.Contains(p.cfg.Regions, spec.Region) {
		return "", fmt.Errorf("settings.region %s is not one of the provider's regions (%s)", spec.Region, strings.Join(p.cfg.Regions, ", "))
	}
	if zone == "" || strings.HasPrefix(zone, "subnet-") {
		if spec.Region != "" {
			return spec.Region, nil
		}
		return p.defaultRegion(), nil
	}
	best := ""
	for _, r := range p.cfg.Regions {
		if strings.HasPrefix(zone, r) && validZoneTail.MatchString(zone[len(r):]) && len(r) > len(best) {
			best = r
		}
	}
	switch {
	case best == "":
		return "", fmt.Errorf("offering zone %q is neither a subnet id (subnet-...) nor an availability zone of the provider's regions (%s)",
			zone, strings.Join(p.cfg.Regions, ", "))
	case spec.Region != "" && spec.Region != best:
		return "", fmt.Errorf("offering zone %s is not in settings.region %s", zone, spec.Region)
	}
	return best, nil
}

// placement returns the subnet and the availability zone to launch in. A
// subnet id as the offering's zone is used as is; an availability zone picks
// the first of the pool's subnets in that zone, or (no subnets set) places the
// instance in the zone's default subnet; no zone picks the pool's first subnet,
// or leaves the choice to EC2.
func (p *Provider) placement(ctx context.Context, region string, spec *poolSpec, zone string) (subnet, az string, err error) {
	switch {
	case strings.HasPrefix(zone, "subnet-"):
		if !validSubnet.MatchString(zone) {
			return "", "", fmt.Errorf("offering zone %q is not a subnet id", zone)
		}
		return zone, "", nil
	case zone == "":
		if len(spec.Subnets) > 0 {
			return spec.Subnets[0], "", nil
		}
		return "", "", nil
	case len(spec.Subnets) == 0:
		return "", zone, nil
	}
	zones, err := p.subnetZones(ctx, region, spec.Subnets)
	if err != nil {
		return "", "", err
	}
	for _, s := range spec.Subnets {
		if zones[s] == zone {
			return s, "", nil
		}
	}
	return "", "", fmt.Errorf("offering zone %s: none of settings.subnets (%s) is in it", zone, strings.Join(spec.Subnets, ", "))
}

// subnetZones returns the availability zone of each subnet, describing the
// ones not seen before in one call.
func (p *Provider) subnetZones(ctx context.Context, region string, subnets []string) (map[string]string, error) {
	out := map[string]string{}
	var missing []string
	p.mu.Lock()
	for _, s := range subnets {
		if z, ok := p.subnets[region+"/"+s]; ok {
			out[s] = z
		} else {
			missing = append(missing, s)
		}
	}
	p.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	res, err := p.client(region).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: missing})
	if err != nil {
		return nil, classify("describe subnets", strings.Join(missing, ","), "region "+region, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range res.Subnets {
		id, z := aws.ToString(s.SubnetId), aws.ToString(s.AvailabilityZone)
		p.subnets[region+"/"+id] = z
		out[id] = z
	}
	return out, nil
}

// rootVolume builds the root volume's mapping: the pool's size and type
// (default gp3), deleted with the instance, encrypted when hibernating (EC2
// requires it). The device name comes from settings.root_device_name or the
// AMI.
func (p *Provider) rootVolume(ctx context.Context, region, image string, spec *poolSpec) (types.BlockDeviceMapping, error) {
	dev := spec.RootDeviceName
	if dev == "" {
		if !strings.HasPrefix(image, "ami-") {
			return types.BlockDeviceMapping{}, fmt.Errorf("settings.root_volume_size needs settings.root_device_name when the image is not an AMI id")
		}
		var err error
		if dev, err = p.rootDevice(ctx, region, image); err != nil {
			return types.BlockDeviceMapping{}, err
		}
	}
	ebs := &types.EbsBlockDevice{DeleteOnTermination: aws.Bool(true), VolumeType: types.VolumeTypeGp3}
	if spec.RootVolumeType != "" {
		ebs.VolumeType = types.VolumeType(spec.RootVolumeType)
	}
	if spec.RootVolumeSize > 0 {
		ebs.VolumeSize = aws.Int32(spec.RootVolumeSize)
	}
	if spec.Hibernate {
		ebs.Encrypted = aws.Bool(true)
	}
	return types.BlockDeviceMapping{DeviceName: aws.String(dev), Ebs: ebs}, nil
}

// rootDevice returns an AMI's root device name (cached).
func (p *Provider) rootDevice(ctx context.Context, region, ami string) (string, error) {
	key := region + "/" + ami
	p.mu.Lock()
	dev, ok := p.roots[key]
	p.mu.Unlock()
	if ok {
		return dev, nil
	}
	res, err := p.client(region).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
	if err != nil {
		return "", classify("describe image", ami, "region "+region, err)
	}
	if len(res.Images) == 0 || aws.ToString(res.Images[0].RootDeviceName) == "" {
		return "", providers.Errorf(providers.KindNotFound, "describe image", ami, "no such AMI (or no root device) in %s", region)
	}
	dev = aws.ToString(res.Images[0].RootDeviceName)
	p.mu.Lock()
	p.roots[key] = dev
	p.mu.Unlock()
	return dev, nil
}
