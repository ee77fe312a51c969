package app

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"

	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/master/broker/activemqtest"
	"github.com/agentcloud/agentcloud/providers/fake"
)

// An installation with source: activemq gets its pool status from the
// broker's statistics: messages waiting in the pool's queue are its backlog,
// and the plan scales up for them.
func TestActiveMQSourcePlansFromQueueDepth(t *testing.T) {
	ep := activemqtest.Shared(t)
	t.Setenv("APP_TEST_AMQ_LOGIN", ep.Login)
	t.Setenv("APP_TEST_AMQ_PASSCODE", ep.Passcode)
	queuePrefix := fmt.Sprintf("apptest%d", time.Now().UnixNano())
	dir := t.TempDir()
	cfg := fmt.Sprintf(`id: cm-test
listen: 127.0.0.1:0
poll_interval: 1s
poll_timeout: 5s
stale_after: 10s
policies: policies
providers:
  - {name: fake, type: fake}
installations:
  - name: legacy
    source: activemq
    activemq:
      broker_url: %s
      login_env: APP_TEST_AMQ_LOGIN
      passcode_env: APP_TEST_AMQ_PASSCODE
      queue: /queue/%s.{pool}
    agent: {broker_url: %s}
`, ep.URL, queuePrefix, ep.URL)
	policy := `pools:
  - installation: legacy
    pool: linux
    provider: fake
    image: agent:1
    max_agents: 10
`
	if err := os.WriteFile(filepath.Join(dir, "cloudmgr.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policies", "legacy.yaml"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}

	conn, err := stomp.Dial("tcp", strings.TrimPrefix(ep.URL, "stomp://"), stomp.ConnOpt.Login(ep.Login, ep.Passcode))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.MustDisconnect()
	for i := range 4 {
		if err := conn.Send("/queue/"+queuePrefix+".linux", "text/plain", []byte(fmt.Sprint("job ", i)), stomp.SendOpt.Receipt); err != nil {
			t.Fatal(err)
		}
	}

	c, err := config.Load(filepath.Join(dir, "cloudmgr.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), c, Options{Factories: withFake(fake.New("fake")), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.Events != nil {
		t.Error("an activemq source subscribes to pool-change events nobody publishes")
	}
	var out bytes.Buffer
	if _, err := a.Plan(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"queued 4", "would create ×4: backlog"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan output lacks %q:\n%s", want, out.String())
		}
	}
}
