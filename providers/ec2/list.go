package ec2

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agentcloud/agentcloud/providers"
)

// maxFilterValues is EC2's limit on the values of one filter.
const maxFilterValues = 200

// List returns every non-terminated instance tagged with owner: one
// paginated DescribeInstances listing per region, filtered by tag on the
// server. A failure in any region fails the whole List, so cloudmgr never
// mistakes an unlisted region for gone instances.
func (p *Provider) List(ctx context.Context, owner string) ([]providers.Instance, error) {
	var out []providers.Instance
	for _, region := range p.cfg.Regions {
		found, err := p.describe(ctx, region, []types.Filter{
			filter("tag:"+providers.LabelOwner, owner),
			filter("instance-state-name", listedStates...),
		})
		if err != nil {
			return nil, classify("list", owner, "region "+region, err)
		}
		var ids []string
		for _, raw := range found {
			in, ok := toInstance(raw)
			if !ok || in.Owner != owner {
				continue
			}
			ids = append(ids, in.ID)
			out = append(out, in)
		}
		p.relearn(region, ids)
	}
	slices.SortFunc(out, func(a, b providers.Instance) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// describe runs one paginated DescribeInstances listing in a region and
// returns every instance it yields.
func (p *Provider) describe(ctx context.Context, region string, filters []types.Filter) ([]types.Instance, error) {
	in := &ec2.DescribeInstancesInput{Filters: filters, MaxResults: aws.Int32(p.cfg.PageSize)}
	var out []types.Instance
	for {
		res, err := p.client(region).DescribeInstances(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, r := range res.Reservations {
			out = append(out, r.Instances...)
		}
		next := aws.ToString(res.NextToken)
		if next == "" {
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in.NextToken = aws.String(next)
	}
}

// describeIDs describes instances by id in a region through a filter (unlike
// InstanceIds, a filter does not fail the whole call for one unknown id), in
// chunks of maxFilterValues.
func (p *Provider) describeIDs(ctx context.Context, region string, ids []string) ([]types.Instance, error) {
	var out []types.Instance
	for chunk := range slices.Chunk(ids, maxFilterValues) {
		found, err := p.describe(ctx, region, []types.Filter{filter("instance-id", chunk...)})
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// filter builds a DescribeInstances filter.
func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

// locate finds the region of each id: known ones from the index, the others
// with one DescribeInstances per region (only one region: no call). It returns
// the EC2 instances it described, by id, and the ids found nowhere.
func (p *Provider) locate(ctx context.Context, ids []string) (byRegion map[string][]string, described map[string]types.Instance, missing []string, err error) {
	byRegion = map[string][]string{}
	described = map[string]types.Instance{}
	var unknown []string
	for _, id := range ids {
		switch r := p.regionOf(id); {
		case r != "":
			byRegion[r] = append(byRegion[r], id)
		case len(p.cfg.Regions) == 1:
			byRegion[p.defaultRegion()] = append(byRegion[p.defaultRegion()], id)
		default:
			unknown = append(unknown, id)
		}
	}
	for _, region := range p.cfg.Regions {
		if len(unknown) == 0 {
			break
		}
		found, err := p.describeIDs(ctx, region, unknown)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("looking for instances %s in region %s: %w", strings.Join(unknown, ", "), region, err)
		}
		for _, in := range found {
			id := aws.ToString(in.InstanceId)
			if !slices.Contains(unknown, id) {
				continue
			}
			described[id] = in
			byRegion[region] = append(byRegion[region], id)
			p.remember(region, id)
		}
		unknown = slices.DeleteFunc(unknown, func(id string) bool { _, ok := described[id]; return ok })
	}
	return byRegion, described, unknown, nil
}
