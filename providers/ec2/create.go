package ec2

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agentcloud/agentcloud/providers"
)

const (
	// maxParallel bounds the RunInstances calls of one Create in flight.
	maxParallel = 8
	// maxGenerations bounds the ClientToken generations one create walks
	// through when tokens of earlier generations return terminated instances.
	maxGenerations = 16
)

// Create launches an instance per request, adopting an existing instance of
// the same owner and Name tag that is not shutting down or terminated. The
// lookup is one DescribeInstances per region for the whole batch. Results are
// in request order; failures are joined, each typed where EC2's code says
// what to do (a capacity error names the offering, so cloudmgr tries the next).
func (p *Provider) Create(ctx context.Context, reqs []providers.CreateRequest) ([]providers.Instance, error) {
	results := make([]*providers.Instance, len(reqs))
	errs := make([]error, len(reqs))
	launches := make([]*launch, len(reqs))
	byRegion := map[string][]int{}
	for i, req := range reqs {
		l, err := p.prepare(ctx, req)
		if err != nil {
			errs[i] = fmt.Errorf("creating instance %s: %w", req.Name, err)
			continue
		}
		if slices.ContainsFunc(byRegion[l.region], func(j int) bool { return reqs[j].Name == req.Name && reqs[j].Owner == req.Owner }) {
			errs[i] = fmt.Errorf("creating instance %s: the name is requested twice in one batch", req.Name)
			continue
		}
		launches[i] = l
		byRegion[l.region] = append(byRegion[l.region], i)
	}

	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for _, region := range slices.Sorted(maps.Keys(byRegion)) {
		idx := byRegion[region]
		existing, err := p.existing(ctx, region, reqs, idx)
		if err != nil {
			for _, i := range idx {
				errs[i] = fmt.Errorf("creating instance %s: %w", reqs[i].Name, classify("create", reqs[i].Name, "looking for it in region "+region, err))
			}
			continue
		}
		for _, i := range idx {
			if in, ok := existing[i].live(); ok {
				p.remember(region, in.ID)
				p.log.Info("adopted existing instance", "instance", in.ID, "name", in.Name, "region", region)
				results[i] = &in
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				in, err := p.run(ctx, launches[i], existing[i])
				if err != nil {
					errs[i] = fmt.Errorf("creating instance %s: %w", reqs[i].Name, err)
					return
				}
				results[i] = &in
			}()
		}
	}
	wg.Wait()
	var out []providers.Instance
	for _, in := range results {
		if in != nil {
			out = append(out, *in)
		}
	}
	return out, errors.Join(errs...)
}

// namesake is what a region holds under one request's owner and name.
type namesake struct {
	alive []types.Instance // not shutting down or terminated
	dead  map[string]bool  // ids of shutting-down or terminated ones
	gen   int              // the first generation no seen instance used
}

// live returns the oldest live namesake, for adoption.
func (n *namesake) live() (providers.Instance, bool) {
	if n == nil {
		return providers.Instance{}, false
	}
	var best providers.Instance
	found := false
	for _, raw := range n.alive {
		in, ok := toInstance(raw)
		if ok && (!found || in.CreatedAt.Before(best.CreatedAt)) {
			best, found = in, true
		}
	}
	return best, found
}

// existing looks up, with one paginated DescribeInstances per chunk of 200
// names, every instance in the region named like the requests idx, in any
// state (terminated ones tell which ClientToken generations are used up).
func (p *Provider) existing(ctx context.Context, region string, reqs []providers.CreateRequest, idx []int) (map[int]*namesake, error) {
	type key struct{ owner, name string }
	want := map[key]int{}
	var names, owners []string
	for _, i := range idx {
		want[key{reqs[i].Owner, reqs[i].Name}] = i
		names = append(names, reqs[i].Name)
		if !slices.Contains(owners, reqs[i].Owner) {
			owners = append(owners, reqs[i].Owner)
		}
	}
	out := map[int]*namesake{}
	for chunk := range slices.Chunk(names, maxFilterValues) {
		found, err := p.describe(ctx, region, []types.Filter{
			filter("tag:"+TagName, chunk...),
			filter("tag:"+providers.LabelOwner, owners...),
		})
		if err != nil {
			return nil, err
		}
		for _, in := range found {
			tags := tagMap(in.Tags)
			i, ok := want[key{tags[providers.LabelOwner], tags[TagName]}]
			if !ok {
				continue
			}
			n := out[i]
			if n == nil {
				n = &namesake{dead: map[string]bool{}}
				out[i] = n
			}
			if g, err := strconv.Atoi(tags[TagGeneration]); err == nil && g+1 > n.gen {
				n.gen = g + 1
			}
			if gone(stateOf(in)) {
				n.dead[aws.ToString(in.InstanceId)] = true
			} else {
				n.alive = append(n.alive, in)
			}
		}
	}
	return out, nil
}

// run launches one instance. It starts at the first generation no seen
// instance used and moves to the next one while EC2 answers a token with an
// instance that is shutting down or terminated (a token reused after its
// instance was terminated returns that instance), or with
// IdempotentParameterMismatch (the token was used with other parameters).
func (p *Provider) run(ctx context.Context, l *launch, seen *namesake) (providers.Instance, error) {
	gen, dead := 0, map[string]bool{}
	if seen != nil {
		gen, dead = seen.gen, seen.dead
	}
	for tries := 0; tries < maxGenerations; tries, gen = tries+1, gen+1 {
		res, err := p.client(l.region).RunInstances(ctx, l.attempt(gen))
		if errorCode(err) == "IdempotentParameterMismatch" {
			p.log.Warn("client token used with other parameters; trying the next generation", "name", l.req.Name, "generation", gen)
			continue
		}
		if err != nil {
			return providers.Instance{}, classify("create", l.req.Name, l.where, err)
		}
		if len(res.Instances) == 0 {
			return providers.Instance{}, fmt.Errorf("RunInstances returned no instance")
		}
		raw := res.Instances[0]
		id := aws.ToString(raw.InstanceId)
		if gone(stateOf(raw)) || dead[id] {
			p.log.Info("client token returned a terminated instance; trying the next generation", "name", l.req.Name, "generation", gen, "instance", id)
			continue
		}
		p.remember(l.region, id)
		in, ok := toInstance(withTags(raw, l.attempt(gen).TagSpecifications[0].Tags))
		if !ok {
			return providers.Instance{}, fmt.Errorf("RunInstances returned instance %s in state %q", id, stateOf(raw))
		}
		p.log.Info("created instance", "instance", id, "name", l.req.Name, "region", l.region, "where", l.where, "generation", gen)
		return in, nil
	}
	return providers.Instance{}, fmt.Errorf("%d client token generations in a row returned terminated instances or mismatched", maxGenerations)
}

// withTags fills in the tags of a RunInstances answer that lacks them.
func withTags(in types.Instance, tags []types.Tag) types.Instance {
	have := tagMap(in.Tags)
	for _, t := range tags {
		if _, ok := have[aws.ToString(t.Key)]; !ok {
			in.Tags = append(in.Tags, t)
		}
	}
	return in
}
