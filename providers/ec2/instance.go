package ec2

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agentcloud/agentcloud/providers"
)

// stateMap maps EC2's instance states to ours; terminated is absent (skipped).
var stateMap = map[types.InstanceStateName]providers.State{
	types.InstanceStateNamePending:      providers.StatePending,
	types.InstanceStateNameRunning:      providers.StateRunning,
	types.InstanceStateNameStopping:     providers.StateSuspending,
	types.InstanceStateNameStopped:      providers.StateSuspended,
	types.InstanceStateNameShuttingDown: providers.StateDestroying,
}

// listedStates are the EC2 states List asks for (all but terminated).
var listedStates = []string{"pending", "running", "stopping", "stopped", "shutting-down"}

// reasonTime finds the time in a StateTransitionReason such as
// "User initiated (2016-05-10 17:28:09 GMT)".
var reasonTime = regexp.MustCompile(`\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (GMT|UTC)\)`)

// clientToken is the RunInstances idempotency token of a name's generation:
// the same for every attempt of one generation, different across owners,
// names and generations, at most 64 ASCII characters.
func clientToken(owner, name string, gen int) string {
	sum := sha256.Sum256([]byte(owner + "\x00" + name))
	return "ac-" + hex.EncodeToString(sum[:16]) + "-g" + strconv.Itoa(gen)
}

// toTags turns a map into EC2 tags, sorted by key.
func toTags(m map[string]string) []types.Tag {
	tags := make([]types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return tags
}

// tagMap turns EC2 tags into a map.
func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// stateOf returns an EC2 instance's state name.
func stateOf(in types.Instance) types.InstanceStateName {
	if in.State == nil {
		return ""
	}
	return in.State.Name
}

// gone reports whether an EC2 state means the instance is (being) deleted.
func gone(s types.InstanceStateName) bool {
	return s == types.InstanceStateNameTerminated || s == types.InstanceStateNameShuttingDown
}

// toInstance maps an EC2 instance; ok is false for a terminated one or one in
// a state this provider does not know.
func toInstance(in types.Instance) (providers.Instance, bool) {
	state, ok := stateMap[stateOf(in)]
	if !ok {
		return providers.Instance{}, false
	}
	tags := tagMap(in.Tags)
	out := providers.Instance{
		ID:           aws.ToString(in.InstanceId),
		Name:         tags[TagName],
		Owner:        tags[providers.LabelOwner],
		Installation: tags[providers.LabelInstallation],
		Pool:         tags[providers.LabelPool],
		State:        state,
		CreatedAt:    createdAt(in),
		StartedAt:    startedAt(in, tags),
		Offering:     providers.Offering{Zone: tags[TagZone], MachineType: string(in.InstanceType)},
		Labels:       tags,
	}
	if out.Offering.Zone == "" && in.Placement != nil {
		out.Offering.Zone = aws.ToString(in.Placement.AvailabilityZone)
	}
	if state == providers.StateSuspending || state == providers.StateSuspended {
		out.SuspendedAt = suspendedAt(in, tags)
		if !out.SuspendedAt.IsZero() && tags[providers.LabelSuspendedAt] == "" {
			tags[providers.LabelSuspendedAt] = strconv.FormatInt(out.SuspendedAt.Unix(), 10)
		}
	} else {
		delete(tags, providers.LabelSuspendedAt) // stale: a resume did not clear it
	}
	return out, true
}

// createdAt is when the instance was first launched: LaunchTime changes at
// every start, but the primary network interface and the root volume stay
// attached since the launch, so the earliest of the three is the first launch.
func createdAt(in types.Instance) time.Time {
	t := aws.ToTime(in.LaunchTime)
	earlier := func(u *time.Time) {
		if u != nil && !u.IsZero() && (t.IsZero() || u.Before(t)) {
			t = *u
		}
	}
	for _, ni := range in.NetworkInterfaces {
		if a := ni.Attachment; a != nil && aws.ToInt32(a.DeviceIndex) == 0 {
			earlier(a.AttachTime)
		}
	}
	for _, bd := range in.BlockDeviceMappings {
		if bd.Ebs != nil && aws.ToString(bd.DeviceName) == aws.ToString(in.RootDeviceName) {
			earlier(bd.Ebs.AttachTime)
		}
	}
	return t
}

// startedAt is the later of LaunchTime (EC2 updates it at every start) and
// our resumed-at tag (kept because not every EC2 implementation updates
// LaunchTime, and it has millisecond precision).
func startedAt(in types.Instance, tags map[string]string) time.Time {
	t := aws.ToTime(in.LaunchTime)
	if r, err := time.Parse(time.RFC3339Nano, tags[TagResumedAt]); err == nil && r.After(t) {
		t = r
	}
	return t
}

// suspendedAt reads our suspended-at tag (Unix seconds), else the time in
// EC2's StateTransitionReason, else zero.
func suspendedAt(in types.Instance, tags map[string]string) time.Time {
	if v, err := strconv.ParseInt(tags[providers.LabelSuspendedAt], 10, 64); err == nil && v > 0 {
		return time.Unix(v, 0).UTC()
	}
	if m := reasonTime.FindStringSubmatch(aws.ToString(in.StateTransitionReason)); m != nil {
		if t, err := time.Parse(time.DateTime, m[1]); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
