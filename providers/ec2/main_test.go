package ec2

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// requireEnv turns the skips of missing components into failures (CI).
const requireEnv = "AGENTCLOUD_REQUIRE_COMPONENTS"

// moto is the moto_server the package's tests share, started on first use.
var moto struct {
	once sync.Once
	cmd  *exec.Cmd
	url  string
	err  error
}

func TestMain(m *testing.M) {
	// Static fake credentials for the SDK's default chain, in tests only;
	// nothing from the machine's own AWS config may leak in.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		os.Setenv(k, v)
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2"} {
		os.Unsetenv(k)
	}
	code := m.Run()
	if moto.cmd != nil {
		_ = syscall.Kill(-moto.cmd.Process.Pid, syscall.SIGTERM)
		_ = moto.cmd.Wait()
	}
	os.Exit(code)
}

// missing skips the test for a missing component, or fails it in CI.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, requireEnv)
	}
	t.Skip(msg)
}

// needMoto starts moto_server once (skipping the test when it is not
// installed), resets its state and returns its URL.
func needMoto(t *testing.T) string {
	t.Helper()
	moto.once.Do(startMoto)
	if moto.err != nil {
		missing(t, "moto_server: %v", moto.err)
	}
	resp, err := http.Post(moto.url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("resetting moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("resetting moto: %s", resp.Status)
	}
	return moto.url
}

// startMoto runs moto_server on a free 127.0.0.1 port and waits until it answers.
func startMoto() {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		moto.err = fmt.Errorf("not installed (pip install 'moto[server]==5.2.1'): %w", err)
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		moto.err = err
		return
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		moto.err = fmt.Errorf("starting %s: %w", bin, err)
		return
	}
	moto.cmd = cmd
	moto.url = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(moto.url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			moto.err = fmt.Errorf("%s did not answer on %s within 30s: %w", bin, moto.url, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testConfig is a one-region config against endpoint with the SDK's default
// three attempts, as in production: the SDK retries a read on a connection
// net/http closed under it (aws-sdk-go-v2 #2737), which moto's server
// provokes now and then. Tests that count attempts set MaxAttempts themselves.
func testConfig(endpoint string) Config {
	return Config{Name: "ec2-test", Regions: []string{"us-east-1"}, Endpoint: endpoint}
}

// newTestProvider builds a provider on real SDK clients for cfg, each passed
// through wrap (when not nil).
func newTestProvider(t *testing.T, cfg Config, wrap func(region string, api API) API) *Provider {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	clients, err := newClients(t.Context(), cfg)
	if err != nil {
		t.Fatalf("building clients: %v", err)
	}
	if wrap != nil {
		for r, c := range clients {
			clients[r] = wrap(r, c)
		}
	}
	return newWithClients(cfg, nil, clients)
}

// rawClient is a plain SDK client on endpoint, for a test's own checks.
func rawClient(t *testing.T, endpoint, region string) *ec2.Client {
	t.Helper()
	clients, err := newClients(t.Context(), testConfig(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	c := clients["us-east-1"].(*ec2.Client)
	return ec2.New(c.Options(), func(o *ec2.Options) { o.Region = region })
}

// testAMI looks up one of moto's bundled AMIs (an Ubuntu one) with DescribeImages.
func testAMI(t *testing.T, c *ec2.Client) string {
	t.Helper()
	res, err := c.DescribeImages(t.Context(), &ec2.DescribeImagesInput{
		Owners:  []string{"amazon"},
		Filters: []types.Filter{filter("name", "ubuntu/images/hvm-ssd/ubuntu-*")},
	})
	if err != nil {
		t.Fatalf("DescribeImages: %v", err)
	}
	if len(res.Images) == 0 {
		t.Fatal("moto has no Ubuntu AMI")
	}
	return aws.ToString(res.Images[0].ImageId)
}

// subnetIn returns a default subnet of moto's default VPC in az.
func subnetIn(t *testing.T, c *ec2.Client, az string) string {
	t.Helper()
	res, err := c.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{Filters: []types.Filter{filter("availability-zone", az)}})
	if err != nil || len(res.Subnets) == 0 {
		t.Fatalf("DescribeSubnets in %s: %v (%d subnets)", az, err, len(res.Subnets))
	}
	return aws.ToString(res.Subnets[0].SubnetId)
}

// describeOne describes one instance with the raw client.
func describeOne(t *testing.T, c *ec2.Client, id string) types.Instance {
	t.Helper()
	res, err := c.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(res.Reservations) == 0 || len(res.Reservations[0].Instances) == 0 {
		t.Fatalf("DescribeInstances(%s): %v", id, err)
	}
	return res.Reservations[0].Instances[0]
}

// ctxT bounds one call of a test.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
