package ec2

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agentcloud/agentcloud/providers"
)

// motoReq is a create request against moto's AMI.
func motoReq(name, owner, pool, ami string) providers.CreateRequest {
	return providers.CreateRequest{
		Name: name, Owner: owner, Installation: "inst", Pool: pool, Image: ami,
		Offering: providers.Offering{Zone: "us-east-1b", MachineType: "t3.micro"},
		Env:      map[string]string{"AGENTCLOUD_BROKER_URL": "stomp://127.0.0.1:61613", "AGENTCLOUD_AGENT_ID": name},
	}
}

// mustCreate creates reqs and fails the test unless all succeed.
func mustCreate(t *testing.T, p *Provider, reqs ...providers.CreateRequest) []providers.Instance {
	t.Helper()
	insts, err := p.Create(ctxT(t), reqs)
	if err != nil || len(insts) != len(reqs) {
		t.Fatalf("Create(%d) = %d instances, %v", len(reqs), len(insts), err)
	}
	return insts
}

// mustList lists owner's instances.
func mustList(t *testing.T, p *Provider, owner string) []providers.Instance {
	t.Helper()
	insts, err := p.List(ctxT(t), owner)
	if err != nil {
		t.Fatalf("List(%s): %v", owner, err)
	}
	return insts
}

// byID finds an instance in a List result.
func byID(insts []providers.Instance, id string) (providers.Instance, bool) {
	i := slices.IndexFunc(insts, func(in providers.Instance) bool { return in.ID == id })
	if i < 0 {
		return providers.Instance{}, false
	}
	return insts[i], true
}

// mustState lists owner and fails unless id is in state.
func mustState(t *testing.T, p *Provider, owner, id string, state providers.State) providers.Instance {
	t.Helper()
	var in providers.Instance
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		in, ok = byID(mustList(t, p, owner), id)
		if ok && in.State == state {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s is %q (listed: %v), want %s", id, in.State, ok, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The whole lifecycle against moto, checking what EC2 itself holds: tags on
// instance and volume, placement, user-data, hibernation, the suspend tags.
func TestLifecycleAndTags(t *testing.T) {
	url := needMoto(t)
	raw := rawClient(t, url, "us-east-1")
	ami := testAMI(t, raw)
	subA, subB := subnetIn(t, raw, "us-east-1a"), subnetIn(t, raw, "us-east-1b")
	sg, err := raw.CreateSecurityGroup(ctxT(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("agents"), Description: aws.String("agents")})
	if err != nil {
		t.Fatal(err)
	}
	var rec *recorder
	p := newTestProvider(t, testConfig(url), func(r string, api API) API { rec = newRecorder(r, api); return rec })

	req := motoReq("inst-pool-1", "owner-a", "pool", ami)
	req.Offering = providers.Offering{Zone: "us-east-1b", MachineType: "t3.small"}
	req.Env["AGENTCLOUD_TOKEN"] = "s3cret-token-value"
	req.Settings = map[string]string{
		"subnets":              subA + "," + subB,
		"security_groups":      aws.ToString(sg.GroupId),
		"hibernate":            "true",
		"root_volume_size":     "30",
		"tag.team":             "ci",
		"ssm.AGENTCLOUD_TOKEN": "/agentcloud/inst/token",
	}
	before := time.Now()
	in := mustCreate(t, p, req)[0]
	if in.Name != req.Name || in.Pool != "pool" || in.Offering != req.Offering {
		t.Errorf("Create returned %+v", in)
	}

	got := describeOne(t, raw, in.ID)
	tags := tagMap(got.Tags)
	for k, v := range map[string]string{
		"Name": req.Name, providers.LabelOwner: "owner-a", providers.LabelInstallation: "inst",
		providers.LabelPool: "pool", "team": "ci", TagGeneration: "0", TagZone: "us-east-1b",
	} {
		if tags[k] != v {
			t.Errorf("instance tag %s = %q, want %q (tags %v)", k, tags[k], v, tags)
		}
	}
	if s := aws.ToString(got.SubnetId); s != subB {
		t.Errorf("instance is in subnet %s, want %s (the pool's subnet in us-east-1b)", s, subB)
	}
	if got.InstanceType != "t3.small" {
		t.Errorf("instance type %s, want t3.small", got.InstanceType)
	}
	if !hibernates(got) {
		t.Error("hibernation is not configured on the instance")
	}
	if !slices.ContainsFunc(got.SecurityGroups, func(g types.GroupIdentifier) bool { return aws.ToString(g.GroupId) == aws.ToString(sg.GroupId) }) {
		t.Errorf("security groups %v lack %s", got.SecurityGroups, aws.ToString(sg.GroupId))
	}

	vols, err := raw.DescribeVolumes(ctxT(t), &ec2.DescribeVolumesInput{Filters: []types.Filter{filter("attachment.instance-id", in.ID)}})
	if err != nil || len(vols.Volumes) != 1 {
		t.Fatalf("DescribeVolumes: %v, %d volumes", err, len(vols.Volumes))
	}
	vol := vols.Volumes[0]
	if aws.ToInt32(vol.Size) != 30 {
		t.Errorf("root volume has %d GiB, want 30", aws.ToInt32(vol.Size))
	}
	vtags := tagMap(vol.Tags)
	for _, k := range []string{"Name", providers.LabelOwner, providers.LabelInstallation, providers.LabelPool, "team"} {
		if vtags[k] != tags[k] {
			t.Errorf("volume tag %s = %q, want %q", k, vtags[k], tags[k])
		}
	}

	attr, err := raw.DescribeInstanceAttribute(ctxT(t), &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(in.ID), Attribute: types.InstanceAttributeNameUserData})
	if err != nil || attr.UserData == nil {
		t.Fatalf("DescribeInstanceAttribute userData: %v", err)
	}
	ud, err := base64.StdEncoding.DecodeString(aws.ToString(attr.UserData.Value))
	if err != nil {
		t.Fatalf("user-data is not base64: %v", err)
	}
	for _, want := range []string{`AGENTCLOUD_BROKER_URL="stomp://127.0.0.1:61613"`, "AGENTCLOUD_TOKEN=/agentcloud/inst/token", "systemctl restart agentcloud-agent.service"} {
		if !strings.Contains(string(ud), want) {
			t.Errorf("user-data lacks %q:\n%s", want, ud)
		}
	}
	if strings.Contains(string(ud), "s3cret") {
		t.Errorf("user-data holds the token fetched from SSM:\n%s", ud)
	}

	listed := mustState(t, p, "owner-a", in.ID, providers.StateRunning)
	if listed.CreatedAt.Before(before.Add(-2*time.Second)) || listed.StartedAt.Before(listed.CreatedAt) || !listed.SuspendedAt.IsZero() {
		t.Errorf("listed times: created %v started %v suspended %v (test began %v)", listed.CreatedAt, listed.StartedAt, listed.SuspendedAt, before)
	}

	// Suspend (stop): the suspended-at tag is set; EC2 keeps the instance.
	beforeStop := time.Now().Add(-time.Second)
	if ids, err := p.Suspend(ctxT(t), providers.SuspendStop, []string{in.ID}); err != nil || len(ids) != 1 {
		t.Fatalf("Suspend(stop) = %v, %v", ids, err)
	}
	sus := mustState(t, p, "owner-a", in.ID, providers.StateSuspended)
	if sus.SuspendedAt.Before(beforeStop.Truncate(time.Second)) || sus.SuspendedAt.After(time.Now()) {
		t.Errorf("SuspendedAt %v, want about now", sus.SuspendedAt)
	}
	if v := tagMap(describeOne(t, raw, in.ID).Tags)[providers.LabelSuspendedAt]; v != strconv.FormatInt(sus.SuspendedAt.Unix(), 10) {
		t.Errorf("EC2 tag %s = %q, want %d", providers.LabelSuspendedAt, v, sus.SuspendedAt.Unix())
	}
	if n := len(rec.stops); n != 1 || aws.ToBool(rec.stops[0].Hibernate) {
		t.Errorf("StopInstances calls %d, hibernate %v; want one without hibernate", n, n > 0 && aws.ToBool(rec.stops[0].Hibernate))
	}

	// Resume: the suspended-at tag goes, resumed-at moves StartedAt.
	beforeResume := time.Now().Truncate(time.Millisecond)
	if ids, err := p.Resume(ctxT(t), []string{in.ID}); err != nil || len(ids) != 1 {
		t.Fatalf("Resume = %v, %v", ids, err)
	}
	res := mustState(t, p, "owner-a", in.ID, providers.StateRunning)
	if res.StartedAt.Before(beforeResume) {
		t.Errorf("resumed StartedAt %v, want at or after %v", res.StartedAt, beforeResume)
	}
	rtags := tagMap(describeOne(t, raw, in.ID).Tags)
	if _, ok := rtags[providers.LabelSuspendedAt]; ok || rtags[TagResumedAt] == "" {
		t.Errorf("after resume, tags %v: want no %s and a %s", rtags, providers.LabelSuspendedAt, TagResumedAt)
	}

	// Suspend (hibernate): allowed, as the pool launched with hibernation.
	if ids, err := p.Suspend(ctxT(t), providers.SuspendSuspend, []string{in.ID}); err != nil || len(ids) != 1 {
		t.Fatalf("Suspend(suspend) = %v, %v", ids, err)
	}
	mustState(t, p, "owner-a", in.ID, providers.StateSuspended)
	if n := len(rec.stops); n != 2 || !aws.ToBool(rec.stops[1].Hibernate) {
		t.Errorf("second StopInstances: %d calls, want the second with Hibernate=true", n)
	}

	// Destroy a suspended instance: gone from List, terminated in EC2.
	if ids, err := p.Destroy(ctxT(t), []string{in.ID}); err != nil || len(ids) != 1 {
		t.Fatalf("Destroy = %v, %v", ids, err)
	}
	if _, ok := byID(mustList(t, p, "owner-a"), in.ID); ok {
		t.Errorf("destroyed %s is still listed", in.ID)
	}
	if s := stateOf(describeOne(t, raw, in.ID)); !gone(s) {
		t.Errorf("destroyed instance is %s in EC2", s)
	}
}

// Mode suspend on an instance launched without hibernation is not supported,
// and nothing is stopped.
func TestHibernateNeedsHibernationAtLaunch(t *testing.T) {
	url := needMoto(t)
	ami := testAMI(t, rawClient(t, url, "us-east-1"))
	var rec *recorder
	p := newTestProvider(t, testConfig(url), func(r string, api API) API { rec = newRecorder(r, api); return rec })
	in := mustCreate(t, p, motoReq("plain-1", "o", "pool", ami))[0]
	ids, err := p.Suspend(ctxT(t), providers.SuspendSuspend, []string{in.ID})
	if len(ids) != 0 || !providers.IsNotSupported(err) || !strings.Contains(err.Error(), "hibernate=true") {
		t.Errorf("Suspend(suspend) of a non-hibernating instance = %v, %v; want a not-supported error naming hibernate=true", ids, err)
	}
	if n := rec.count("StopInstances"); n != 0 {
		t.Errorf("StopInstances was called %d times", n)
	}
	ids, err = p.Suspend(ctxT(t), providers.SuspendNone, []string{in.ID})
	if len(ids) != 0 || !providers.IsNotSupported(err) {
		t.Errorf("Suspend(none) = %v, %v; want a not-supported error", ids, err)
	}
	mustState(t, p, "o", in.ID, providers.StateRunning)
}

// A new Provider (a restarted cloudmgr) lists what the old one created and
// acts on it, and a create of an existing name adopts it without a launch.
func TestAdoptionAfterRestart(t *testing.T) {
	url := needMoto(t)
	ami := testAMI(t, rawClient(t, url, "us-east-1"))
	first := newTestProvider(t, testConfig(url), nil)
	created := mustCreate(t, first,
		motoReq("inst-a-1", "owner", "a", ami), motoReq("inst-a-2", "owner", "a", ami), motoReq("inst-b-1", "owner", "b", ami))
	if _, err := first.Suspend(ctxT(t), providers.SuspendStop, []string{created[1].ID}); err != nil {
		t.Fatal(err)
	}

	var rec *recorder
	second := newTestProvider(t, testConfig(url), func(r string, api API) API { rec = newRecorder(r, api); return rec })
	insts := mustList(t, second, "owner")
	if len(insts) != 3 {
		t.Fatalf("the new provider lists %d instances, want 3: %+v", len(insts), insts)
	}
	for i, c := range created {
		in, ok := byID(insts, c.ID)
		if !ok || in.Name != c.Name || in.Pool != c.Pool || in.Installation != "inst" {
			t.Errorf("instance %d: listed %+v, want name %s pool %s", i, in, c.Name, c.Pool)
		}
	}
	if in, _ := byID(insts, created[1].ID); in.State != providers.StateSuspended || in.SuspendedAt.IsZero() {
		t.Errorf("the suspended instance is listed %s with SuspendedAt %v", in.State, in.SuspendedAt)
	}

	again := mustCreate(t, second, motoReq("inst-a-1", "owner", "a", ami), motoReq("inst-b-1", "owner", "b", ami))
	if again[0].ID != created[0].ID || again[1].ID != created[2].ID {
		t.Errorf("re-creating existing names gave %s, %s; want %s, %s", again[0].ID, again[1].ID, created[0].ID, created[2].ID)
	}
	if n := rec.count("RunInstances"); n != 0 {
		t.Errorf("adopting existing names called RunInstances %d times", n)
	}
	if ids, err := second.Resume(ctxT(t), []string{created[1].ID}); err != nil || len(ids) != 1 {
		t.Errorf("the new provider's Resume = %v, %v", ids, err)
	}
	if ids, err := second.Destroy(ctxT(t), []string{created[0].ID, created[1].ID, created[2].ID}); err != nil || len(ids) != 3 {
		t.Errorf("the new provider's Destroy = %v, %v", ids, err)
	}
	if n := len(mustList(t, second, "owner")); n != 0 {
		t.Errorf("%d instances left after Destroy", n)
	}
}

// A repeated create never duplicates: adopted by name when DescribeInstances
// shows the first, and answered by the same ClientToken when it does not yet
// (EC2's eventual consistency; the token semantics are emulated over moto).
func TestCreateNeverDuplicates(t *testing.T) {
	url := needMoto(t)
	raw := rawClient(t, url, "us-east-1")
	ami := testAMI(t, raw)
	var rec *recorder
	p := newTestProvider(t, testConfig(url), func(r string, api API) API { rec = newRecorder(r, newTokens(api)); return rec })
	req := motoReq("dup-1", "owner", "pool", ami)

	a := mustCreate(t, p, req)[0]
	b := mustCreate(t, p, req)[0]
	if a.ID != b.ID || rec.count("RunInstances") != 1 {
		t.Errorf("two creates gave %s and %s with %d launches; want one instance, one launch", a.ID, b.ID, rec.count("RunInstances"))
	}

	// Hide every instance from DescribeInstances: adoption cannot see the
	// first, so the token must.
	rec.setRewrite(func(*types.Instance) bool { return false })
	c := mustCreate(t, p, req)[0]
	rec.setRewrite(nil)
	runs := rec.runInputs()
	if c.ID != a.ID || len(runs) != 2 || aws.ToString(runs[0].ClientToken) != aws.ToString(runs[1].ClientToken) {
		t.Errorf("create during eventual consistency gave %s (want %s) after %d launches", c.ID, a.ID, len(runs))
	}
	res, err := raw.DescribeInstances(ctxT(t), &ec2.DescribeInstancesInput{Filters: []types.Filter{filter("tag:Name", req.Name)}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Reservations); n != 1 {
		t.Errorf("EC2 holds %d reservations named %s, want 1", n, req.Name)
	}

	insts, err := p.Create(ctxT(t), []providers.CreateRequest{motoReq("twice", "owner", "pool", ami), motoReq("twice", "owner", "pool", ami)})
	if len(insts) != 1 || err == nil || !strings.Contains(err.Error(), "twice in one batch") {
		t.Errorf("a batch naming one instance twice = %d instances, %v; want one and an error", len(insts), err)
	}
}

// A token reused after its instance was terminated returns that instance:
// the provider moves to the next generation, and skips the used ones it can
// still see.
func TestClientTokenAfterTerminate(t *testing.T) {
	url := needMoto(t)
	ami := testAMI(t, rawClient(t, url, "us-east-1"))
	var rec *recorder
	p := newTestProvider(t, testConfig(url), func(r string, api API) API { rec = newRecorder(r, newTokens(api)); return rec })
	req := motoReq("reused-1", "owner", "pool", ami)
	gen := func(in providers.Instance) string { return in.Labels[TagGeneration] }
	token := func(i int) string { return aws.ToString(rec.runInputs()[i].ClientToken) }

	first := mustCreate(t, p, req)[0]
	destroy := func(id string) {
		t.Helper()
		if _, err := p.Destroy(ctxT(t), []string{id}); err != nil {
			t.Fatal(err)
		}
	}
	destroy(first.ID)

	// The terminated instance is still visible: generation 1 at once.
	second := mustCreate(t, p, req)[0]
	if second.ID == first.ID || gen(second) != "1" || len(rec.runInputs()) != 2 || token(1) != clientToken("owner", req.Name, 1) {
		t.Errorf("re-create after terminate: id %s (first %s), generation %q, %d launches; want a new instance of generation 1 in one launch",
			second.ID, first.ID, gen(second), len(rec.runInputs()))
	}
	destroy(second.ID)

	// Terminated instances hidden (EC2 drops them after about an hour, but
	// keeps their tokens): the provider walks from generation 0.
	rec.reset()
	rec.setRewrite(func(in *types.Instance) bool { return !gone(stateOf(*in)) })
	third := mustCreate(t, p, req)[0]
	if third.ID == first.ID || third.ID == second.ID || gen(third) != "2" {
		t.Errorf("re-create with hidden terminated instances: id %s, generation %q; want a new instance of generation 2", third.ID, gen(third))
	}
	var toks []string
	for i := range rec.runInputs() {
		toks = append(toks, token(i))
	}
	want := []string{clientToken("owner", req.Name, 0), clientToken("owner", req.Name, 1), clientToken("owner", req.Name, 2)}
	if !slices.Equal(toks, want) {
		t.Errorf("tokens tried %v, want %v", toks, want)
	}
}

// List costs ceil(n/page) DescribeInstances calls per region, whatever the
// number of pools, and other owners' instances are filtered by EC2.
func TestListPagination(t *testing.T) {
	url := needMoto(t)
	ami := testAMI(t, rawClient(t, url, "us-east-1"))
	cfg := testConfig(url)
	cfg.PageSize = 5
	var rec *recorder
	p := newTestProvider(t, cfg, func(r string, api API) API { rec = newRecorder(r, api); return rec })
	var reqs []providers.CreateRequest
	for i := range 12 {
		reqs = append(reqs, motoReq("page-"+strconv.Itoa(i), "mine", "pool-"+strconv.Itoa(i%3), ami))
	}
	mustCreate(t, p, reqs...)
	mustCreate(t, p, motoReq("other-1", "theirs", "pool", ami), motoReq("other-2", "theirs", "pool", ami))

	rec.reset()
	insts := mustList(t, p, "mine")
	if len(insts) != 12 {
		t.Errorf("List returned %d instances, want 12", len(insts))
	}
	if n := rec.count("DescribeInstances"); n != 3 {
		t.Errorf("List made %d DescribeInstances calls for 12 instances in pages of 5, want 3", n)
	}
	names := map[string]bool{}
	for _, in := range insts {
		names[in.Name] = true
	}
	if len(names) != 12 {
		t.Errorf("List returned %d distinct names, want 12", len(names))
	}
	rec.reset()
	if n := len(mustList(t, p, "theirs")); n != 2 || rec.count("DescribeInstances") != 1 {
		t.Errorf("List(theirs) = %d instances in %d calls, want 2 in 1", n, rec.count("DescribeInstances"))
	}
}

// Two regions: List makes one listing per region; a new provider finds where
// an id lives before acting on it.
func TestMultiRegion(t *testing.T) {
	url := needMoto(t)
	east, west := rawClient(t, url, "us-east-1"), rawClient(t, url, "us-west-2")
	cfg := testConfig(url)
	cfg.Regions = []string{"us-east-1", "us-west-2"}
	recs := map[string]*recorder{}
	p := newTestProvider(t, cfg, func(r string, api API) API { recs[r] = newRecorder(r, api); return recs[r] })

	e := motoReq("east-1", "o", "pool", testAMI(t, east))
	w := motoReq("west-1", "o", "pool", testAMI(t, west))
	w.Offering.Zone = "us-west-2a"
	insts := mustCreate(t, p, e, w)
	if z := describeOne(t, west, insts[1].ID).Placement; aws.ToString(z.AvailabilityZone) != "us-west-2a" {
		t.Errorf("the us-west-2a request launched in %s", aws.ToString(z.AvailabilityZone))
	}
	for _, r := range recs {
		r.reset()
	}
	if n := len(mustList(t, p, "o")); n != 2 {
		t.Errorf("List = %d instances, want 2", n)
	}
	for region, r := range recs {
		if n := r.count("DescribeInstances"); n != 1 {
			t.Errorf("List made %d DescribeInstances calls in %s, want 1", n, region)
		}
	}

	fresh := newTestProvider(t, cfg, nil)
	if ids, err := fresh.Suspend(ctxT(t), providers.SuspendStop, []string{insts[1].ID}); err != nil || len(ids) != 1 {
		t.Fatalf("a new provider's Suspend of the us-west-2 instance = %v, %v", ids, err)
	}
	if s := stateOf(describeOne(t, west, insts[1].ID)); s != types.InstanceStateNameStopped {
		t.Errorf("the us-west-2 instance is %s, want stopped", s)
	}
	if ids, err := newTestProvider(t, cfg, nil).Destroy(ctxT(t), []string{insts[0].ID, insts[1].ID, unknownID}); err != nil || len(ids) != 3 {
		t.Errorf("a new provider's Destroy across regions = %v, %v", ids, err)
	}
	if n := len(mustList(t, p, "o")); n != 0 {
		t.Errorf("%d instances left", n)
	}
	if _, err := p.Create(ctxT(t), []providers.CreateRequest{{Name: "x", Owner: "o", Image: "ami-12345678",
		Offering: providers.Offering{Zone: "eu-west-1a", MachineType: "t3.micro"}}}); err == nil || !strings.Contains(err.Error(), "eu-west-1a") {
		t.Errorf("a zone outside the regions: %v; want an error naming it", err)
	}
}

// A pool may launch from a launch template (by name or id) instead of an AMI.
func TestLaunchTemplate(t *testing.T) {
	url := needMoto(t)
	raw := rawClient(t, url, "us-east-1")
	ami := testAMI(t, raw)
	lt, err := raw.CreateLaunchTemplate(ctxT(t), &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("agents"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Nano},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := newTestProvider(t, testConfig(url), nil)
	byName := providers.CreateRequest{Name: "lt-1", Owner: "o", Pool: "p", Settings: map[string]string{"launch_template": "agents"}}
	byID := providers.CreateRequest{Name: "lt-2", Owner: "o", Pool: "p", Offering: providers.Offering{MachineType: "t3.large"},
		Settings: map[string]string{"launch_template": aws.ToString(lt.LaunchTemplate.LaunchTemplateId), "launch_template_version": "1"}}
	insts := mustCreate(t, p, byName, byID)
	for i, want := range []types.InstanceType{types.InstanceTypeT3Nano, types.InstanceTypeT3Large} {
		got := describeOne(t, raw, insts[i].ID)
		if aws.ToString(got.ImageId) != ami || got.InstanceType != want {
			t.Errorf("instance %d: image %s type %s, want %s %s", i, aws.ToString(got.ImageId), got.InstanceType, ami, want)
		}
	}
}
