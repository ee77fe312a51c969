package ec2

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agentcloud/agentcloud/providers"
)

// ec2Instance builds an EC2 instance description.
func ec2Instance(state types.InstanceStateName, tags map[string]string, mod func(*types.Instance)) types.Instance {
	launch := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	in := types.Instance{
		InstanceId:   aws.String("i-0abc"),
		State:        &types.InstanceState{Name: state},
		LaunchTime:   &launch,
		InstanceType: types.InstanceTypeT3Micro,
		Placement:    &types.Placement{AvailabilityZone: aws.String("us-east-1a")},
		Tags:         toTags(tags),
	}
	if mod != nil {
		mod(&in)
	}
	return in
}

func TestStateMapping(t *testing.T) {
	tests := []struct {
		ec2  types.InstanceStateName
		want providers.State
		ok   bool
	}{
		{types.InstanceStateNamePending, providers.StatePending, true},
		{types.InstanceStateNameRunning, providers.StateRunning, true},
		{types.InstanceStateNameStopping, providers.StateSuspending, true},
		{types.InstanceStateNameStopped, providers.StateSuspended, true},
		{types.InstanceStateNameShuttingDown, providers.StateDestroying, true},
		{types.InstanceStateNameTerminated, "", false},
		{"exploding", "", false},
	}
	for _, tc := range tests {
		in, ok := toInstance(ec2Instance(tc.ec2, nil, nil))
		if ok != tc.ok || in.State != tc.want {
			t.Errorf("EC2 state %s: mapped %q (listed %v), want %q (%v)", tc.ec2, in.State, ok, tc.want, tc.ok)
		}
	}
}

func TestToInstance(t *testing.T) {
	launch := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	first := launch.Add(-48 * time.Hour)
	tags := map[string]string{
		TagName: "inst-pool-1", providers.LabelOwner: "o", providers.LabelInstallation: "inst", providers.LabelPool: "pool",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range tags {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	t.Run("identity and offering", func(t *testing.T) {
		in, _ := toInstance(ec2Instance(types.InstanceStateNameRunning, with(map[string]string{TagZone: "subnet-11111111"}), nil))
		if in.ID != "i-0abc" || in.Name != "inst-pool-1" || in.Owner != "o" || in.Installation != "inst" || in.Pool != "pool" ||
			in.Offering != (providers.Offering{Zone: "subnet-11111111", MachineType: "t3.micro"}) || in.Labels[providers.LabelPool] != "pool" {
			t.Errorf("mapped %+v", in)
		}
		in, _ = toInstance(ec2Instance(types.InstanceStateNameRunning, tags, nil))
		if in.Offering.Zone != "us-east-1a" {
			t.Errorf("without a zone tag the zone is %q, want the placement's", in.Offering.Zone)
		}
	})
	t.Run("created at the first launch", func(t *testing.T) {
		in, _ := toInstance(ec2Instance(types.InstanceStateNameRunning, tags, func(i *types.Instance) {
			i.RootDeviceName = aws.String("/dev/xvda")
			i.NetworkInterfaces = []types.InstanceNetworkInterface{{Attachment: &types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0), AttachTime: &first}}}
			i.BlockDeviceMappings = []types.InstanceBlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsInstanceBlockDevice{AttachTime: aws.Time(first.Add(time.Second))}}}
		}))
		if !in.CreatedAt.Equal(first) || !in.StartedAt.Equal(launch) {
			t.Errorf("created %v started %v, want %v and %v", in.CreatedAt, in.StartedAt, first, launch)
		}
	})
	t.Run("started at the later resume", func(t *testing.T) {
		resumed := launch.Add(90 * time.Second).Add(123 * time.Millisecond)
		in, _ := toInstance(ec2Instance(types.InstanceStateNamePending, with(map[string]string{TagResumedAt: resumed.Format(time.RFC3339Nano)}), nil))
		if !in.StartedAt.Equal(resumed) {
			t.Errorf("started %v, want the resume %v", in.StartedAt, resumed)
		}
		old := launch.Add(-time.Hour)
		in, _ = toInstance(ec2Instance(types.InstanceStateNameRunning, with(map[string]string{TagResumedAt: old.Format(time.RFC3339Nano)}), nil))
		if !in.StartedAt.Equal(launch) {
			t.Errorf("started %v, want the later LaunchTime %v", in.StartedAt, launch)
		}
	})
	t.Run("suspended at from the tag", func(t *testing.T) {
		in, _ := toInstance(ec2Instance(types.InstanceStateNameStopped, with(map[string]string{providers.LabelSuspendedAt: "1772400000"}), func(i *types.Instance) {
			i.StateTransitionReason = aws.String("User initiated (2026-03-01 12:00:00 GMT)")
		}))
		if !in.SuspendedAt.Equal(time.Unix(1772400000, 0)) {
			t.Errorf("suspended %v, want the tag's time", in.SuspendedAt)
		}
	})
	t.Run("suspended at from the transition reason", func(t *testing.T) {
		for _, reason := range []string{"User initiated (2026-03-01 12:00:00 GMT)", "User initiated (2026-03-01 12:00:00 UTC)"} {
			in, _ := toInstance(ec2Instance(types.InstanceStateNameStopping, tags, func(i *types.Instance) { i.StateTransitionReason = aws.String(reason) }))
			want := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			if !in.SuspendedAt.Equal(want) || in.Labels[providers.LabelSuspendedAt] != fmt.Sprint(want.Unix()) {
				t.Errorf("reason %q: suspended %v, label %q; want %v", reason, in.SuspendedAt, in.Labels[providers.LabelSuspendedAt], want)
			}
		}
		in, _ := toInstance(ec2Instance(types.InstanceStateNameStopped, tags, func(i *types.Instance) { i.StateTransitionReason = aws.String("Server.ScheduledStop") }))
		if !in.SuspendedAt.IsZero() {
			t.Errorf("unparseable reason gave %v, want zero", in.SuspendedAt)
		}
	})
	t.Run("stale suspended-at on a running instance", func(t *testing.T) {
		in, _ := toInstance(ec2Instance(types.InstanceStateNameRunning, with(map[string]string{providers.LabelSuspendedAt: "1772400000"}), nil))
		if !in.SuspendedAt.IsZero() || in.Labels[providers.LabelSuspendedAt] != "" {
			t.Errorf("running instance: suspended %v, label %q; want neither", in.SuspendedAt, in.Labels[providers.LabelSuspendedAt])
		}
	})
}

func TestClassify(t *testing.T) {
	tests := []struct {
		code string
		kind providers.ErrorKind
	}{
		{"InsufficientInstanceCapacity", providers.KindCapacity},
		{"InsufficientFreeAddressesInSubnet", providers.KindCapacity},
		{"InstanceLimitExceeded", providers.KindQuota},
		{"VcpuLimitExceeded", providers.KindQuota},
		{"RequestLimitExceeded", providers.KindThrottled},
		{"Throttling", providers.KindThrottled},
		{"InvalidInstanceID.NotFound", providers.KindNotFound},
		{"InvalidInstanceID.Malformed", providers.KindNotFound},
		{"InvalidAMIID.NotFound", providers.KindNotFound},
		{"UnsupportedHibernationConfiguration", providers.KindNotSupported},
		{"InternalError", providers.KindUnavailable},
		{"IncorrectInstanceState", ""},
		{"UnauthorizedOperation", ""},
	}
	for _, tc := range tests {
		err := classify("create", "n-1", "offering us-east-1a/t3.micro", fmt.Errorf("operation error: %w", apiError(tc.code)))
		if k := providers.KindOf(err); k != tc.kind {
			t.Errorf("%s: kind %q, want %q (%v)", tc.code, k, tc.kind, err)
		}
		var pe *providers.Error
		if tc.kind != "" && (!errors.As(err, &pe) || pe.Op != "create" || pe.ID != "n-1") {
			t.Errorf("%s: %v is not a create error about n-1", tc.code, err)
		}
		if errorCode(err) != tc.code {
			t.Errorf("%s: the code is lost: %q", tc.code, errorCode(err))
		}
	}
	if err := classify("list", "o", "", apiError("AuthFailure")); !errors.Is(err, ErrPermissionDenied) {
		t.Errorf("AuthFailure: %v is not a permission error", err)
	}
	if err := classify("list", "o", "", context.DeadlineExceeded); providers.KindOf(err) != "" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
	if classify("list", "o", "", nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}

func TestNoRetry(t *testing.T) {
	for code, want := range map[string]aws.Ternary{
		"InsufficientInstanceCapacity": aws.FalseTernary,
		"VcpuLimitExceeded":            aws.FalseTernary,
		"UnauthorizedOperation":        aws.FalseTernary,
		"RequestLimitExceeded":         aws.UnknownTernary,
		"InternalError":                aws.UnknownTernary,
	} {
		if got := noRetry(apiError(code)); got != want {
			t.Errorf("noRetry(%s) = %v, want %v", code, got, want)
		}
	}
	if got := noRetry(errors.New("eof")); got != aws.UnknownTernary {
		t.Errorf("noRetry(plain error) = %v", got)
	}
}

func TestBatchResult(t *testing.T) {
	b := newBatch("testing", []string{"a", "b", "c", "b"})
	b.fail("b", errors.New("first"))
	b.fail("b", errors.New("second"))
	ok, err := b.result()
	if fmt.Sprint(ok) != "[a c]" || err == nil || err.Error() != "testing instance b: first" {
		t.Errorf("result = %v, %v", ok, err)
	}
	calls := 0
	errs := perID([]string{"x", "y"}, func(ids []string) error {
		calls++
		if len(ids) > 1 || ids[0] == "y" {
			return apiError("InvalidInstanceID.NotFound")
		}
		return nil
	})
	if calls != 3 || errs["x"] != nil || errs["y"] == nil {
		t.Errorf("perID: %d calls, errors %v; want the batch then each id", calls, errs)
	}
	calls = 0
	errs = perID([]string{"x", "y"}, func([]string) error { calls++; return apiError("RequestLimitExceeded") })
	if calls != 1 || errs["x"] == nil || errs["y"] == nil {
		t.Errorf("perID with a batch-wide error: %d calls, %v", calls, errs)
	}
}
