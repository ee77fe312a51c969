package ec2

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agentcloud/agentcloud/providers"
)

// Suspend stops instances keeping their EBS volumes: mode stop is
// StopInstances, mode suspend is StopInstances with Hibernate (only for
// instances launched with hibernation configured, else not supported). The
// agentcloud-suspended-at tag is set first. An instance already stopping or
// stopped succeeds; an unknown or terminated one fails with not found; a
// pending one fails (EC2 cannot stop it yet).
func (p *Provider) Suspend(ctx context.Context, mode providers.SuspendMode, ids []string) ([]string, error) {
	b := newBatch("suspending", ids)
	if mode != providers.SuspendStop && mode != providers.SuspendSuspend {
		b.failAll(ids, func(id string) error {
			return providers.Errorf(providers.KindNotSupported, "suspend", id, "suspend mode %q is not supported by EC2 (stop, suspend)", mode)
		})
		return b.result()
	}
	p.onInstances(ctx, b, "suspend", ids, func(region string, insts map[string]types.Instance, rids []string) {
		var stop, tagOnly []string
		for _, id := range rids {
			in := insts[id]
			switch s := stateOf(in); {
			case s == types.InstanceStateNameStopped:
				if tagMap(in.Tags)[providers.LabelSuspendedAt] == "" {
					tagOnly = append(tagOnly, id)
				}
			case s == types.InstanceStateNameStopping:
			case s != types.InstanceStateNameRunning:
				b.fail(id, fmt.Errorf("it is %s; it can be suspended once running", s))
			case mode == providers.SuspendSuspend && !hibernates(in):
				b.fail(id, providers.Errorf(providers.KindNotSupported, "suspend", id,
					"hibernation is not configured for it: launch the pool with settings hibernate=true, or suspend with mode stop"))
			default:
				stop = append(stop, id)
			}
		}
		now := strconv.FormatInt(time.Now().Unix(), 10)
		tagged := append(append([]string(nil), stop...), tagOnly...)
		if len(tagged) > 0 {
			if _, err := p.client(region).CreateTags(ctx, &ec2.CreateTagsInput{
				Resources: tagged,
				Tags:      toTags(map[string]string{providers.LabelSuspendedAt: now}),
			}); err != nil {
				if kindOfCode(errorCode(err)) != codeNotFound || len(tagged) == 1 {
					b.failAll(tagged, func(id string) error { return classify("suspend", id, "tagging "+providers.LabelSuspendedAt, err) })
					return
				}
				p.log.Warn("tagging suspended instances", "instances", tagged, "err", err)
			}
		}
		errs := perID(stop, func(ids []string) error {
			_, err := p.client(region).StopInstances(ctx, &ec2.StopInstancesInput{
				InstanceIds: ids,
				Hibernate:   aws.Bool(mode == providers.SuspendSuspend),
			})
			return err
		})
		for id, err := range errs {
			if err != nil {
				b.fail(id, classify("suspend", id, "", err))
				continue
			}
			p.log.Info("suspended instance", "instance", id, "mode", mode, "region", region)
		}
	})
	return b.result()
}

// hibernates reports whether an instance was launched with hibernation configured.
func hibernates(in types.Instance) bool {
	return in.HibernationOptions != nil && aws.ToBool(in.HibernationOptions.Configured)
}

// Resume starts stopped instances again (a hibernated one restores its
// memory). The agentcloud-resumed-at tag is set first (StartedAt, so
// boot_timeout counts from the resume), agentcloud-suspended-at is removed
// after. A pending or running instance succeeds; a stopping one fails until
// it is stopped; an unknown or terminated one fails with not found.
func (p *Provider) Resume(ctx context.Context, ids []string) ([]string, error) {
	b := newBatch("resuming", ids)
	p.onInstances(ctx, b, "resume", ids, func(region string, insts map[string]types.Instance, rids []string) {
		var start []string
		for _, id := range rids {
			switch s := stateOf(insts[id]); s {
			case types.InstanceStateNameStopped:
				start = append(start, id)
			case types.InstanceStateNamePending, types.InstanceStateNameRunning:
			default:
				b.fail(id, fmt.Errorf("it is %s; it can be resumed once stopped", s))
			}
		}
		if len(start) == 0 {
			return
		}
		now := time.Now().UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
		if _, err := p.client(region).CreateTags(ctx, &ec2.CreateTagsInput{
			Resources: start,
			Tags:      toTags(map[string]string{TagResumedAt: now}),
		}); err != nil {
			if kindOfCode(errorCode(err)) != codeNotFound || len(start) == 1 {
				b.failAll(start, func(id string) error { return classify("resume", id, "tagging "+TagResumedAt, err) })
				return
			}
			p.log.Warn("tagging resumed instances", "instances", start, "err", err)
		}
		errs := perID(start, func(ids []string) error {
			_, err := p.client(region).StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids})
			return err
		})
		var started []string
		for id, err := range errs {
			if err != nil {
				b.fail(id, classify("resume", id, "", err))
				continue
			}
			started = append(started, id)
			p.log.Info("resumed instance", "instance", id, "region", region)
		}
		if len(started) == 0 {
			return
		}
		if _, err := p.client(region).DeleteTags(ctx, &ec2.DeleteTagsInput{
			Resources: started,
			Tags:      []types.Tag{{Key: aws.String(providers.LabelSuspendedAt)}},
		}); err != nil {
			// Harmless: List ignores the tag on an instance that is not stopped.
			p.log.Warn("removing the suspended-at tag of resumed instances", "instances", started, "err", err)
		}
	})
	return b.result()
}

// Destroy terminates instances, EBS volumes included (the provider launches
// root volumes with DeleteOnTermination). An id that is unknown, malformed or
// already terminated is a success.
func (p *Provider) Destroy(ctx context.Context, ids []string) ([]string, error) {
	b := newBatch("destroying", ids)
	byRegion, _, _, err := p.locate(ctx, ids)
	if err != nil {
		b.failAll(ids, func(id string) error { return classify("destroy", id, "", err) })
		return b.result()
	}
	for region, rids := range byRegion {
		errs := perID(rids, func(ids []string) error {
			_, err := p.client(region).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
			return err
		})
		for id, err := range errs {
			switch {
			case err == nil:
				p.log.Info("destroyed instance", "instance", id, "region", region)
			case kindOfCode(errorCode(err)) == codeNotFound:
			default:
				b.fail(id, classify("destroy", id, "", err))
			}
		}
	}
	return b.result()
}

// onInstances finds ids' regions, describes them (one call per region), fails
// the unknown and terminated ones with not found, and hands the rest, by
// region, to act.
func (p *Provider) onInstances(ctx context.Context, b *batch, op string, ids []string,
	act func(region string, insts map[string]types.Instance, ids []string)) {
	byRegion, described, missing, err := p.locate(ctx, ids)
	if err != nil {
		b.failAll(ids, func(id string) error { return classify(op, id, "", err) })
		return
	}
	for _, id := range missing {
		b.fail(id, providers.Errorf(providers.KindNotFound, op, id, "no such instance in %v", p.cfg.Regions))
	}
	for region, rids := range byRegion {
		var ask []string
		for _, id := range rids {
			if _, ok := described[id]; !ok {
				ask = append(ask, id)
			}
		}
		if len(ask) > 0 {
			found, err := p.describeIDs(ctx, region, ask)
			if err != nil {
				b.failAll(rids, func(id string) error { return classify(op, id, "region "+region, err) })
				continue
			}
			for _, in := range found {
				described[aws.ToString(in.InstanceId)] = in
			}
		}
		insts := map[string]types.Instance{}
		var live []string
		for _, id := range rids {
			in, ok := described[id]
			switch {
			case !ok:
				b.fail(id, providers.Errorf(providers.KindNotFound, op, id, "no such instance in %s", region))
			case gone(stateOf(in)):
				b.fail(id, providers.Errorf(providers.KindNotFound, op, id, "the instance is %s", stateOf(in)))
			default:
				insts[id] = in
				live = append(live, id)
			}
		}
		if len(live) > 0 {
			act(region, insts, live)
		}
	}
}
