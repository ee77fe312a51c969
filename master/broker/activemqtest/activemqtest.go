// Package activemqtest gives tests a real ActiveMQ broker (DESIGN.md §5).
//
// Start runs a private broker from a temporary base dir on free 127.0.0.1
// ports, through images/activemq/start.sh and the same activemq.xml as
// production, so a test may SIGKILL it, stop it and start it again (the
// base dir, hence every persistent message, survives until the test ends).
// Shared returns the broker CI started (env AGENTCLOUD_ACTIVEMQ_URL, with
// AGENTCLOUD_ACTIVEMQ_LOGIN and AGENTCLOUD_ACTIVEMQ_PASSCODE), or a private
// one when that is unset, for tests that only need a broker.
//
// Without the activemq package (or Java) the tests skip with the reason;
// with AGENTCLOUD_REQUIRE_COMPONENTS=1, as in CI, they fail instead.
package activemqtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables.
const (
	// EnvURL is the STOMP URL of a running ActiveMQ (set by .ci/run).
	EnvURL = "AGENTCLOUD_ACTIVEMQ_URL"
	// EnvLogin and EnvPasscode are its credentials.
	EnvLogin    = "AGENTCLOUD_ACTIVEMQ_LOGIN"
	EnvPasscode = "AGENTCLOUD_ACTIVEMQ_PASSCODE"
	// EnvScripts overrides the folder of start.sh, stop.sh and activemq.xml
	// (default: images/activemq of this source tree).
	EnvScripts = "AGENTCLOUD_ACTIVEMQ_SCRIPTS"
	// EnvRequire turns skips for a missing component into failures.
	EnvRequire = "AGENTCLOUD_REQUIRE_COMPONENTS"
)

// Default credentials of a private broker (start.sh's defaults).
const (
	DefaultLogin    = "agentcloud"
	DefaultPasscode = "agentcloud"
)

// startTimeout bounds one start of the broker (start.sh waits for STOMP).
const startTimeout = 120 * time.Second

// activemqJar is the Debian package's launcher.
const activemqJar = "/usr/share/activemq/bin/activemq.jar"

// Endpoint is where a broker answers STOMP.
type Endpoint struct {
	URL, Login, Passcode string
}

// Broker is a private ActiveMQ instance a test controls.
type Broker struct {
	Endpoint
	// Base is its base dir: conf/, data/, activemq.log.
	Base string
	// Addr is host:port of its STOMP connector.
	Addr string

	scripts string
	mu      sync.Mutex
}

// Missing reports why a private broker cannot run here ("" when it can).
func Missing() string {
	if _, err := os.Stat(activemqJar); err != nil {
		return "ActiveMQ is not installed (Debian package activemq; images/activemq/start.sh installs it as root)"
	}
	if _, err := exec.LookPath("java"); err != nil {
		return "java is not installed (the activemq package needs a JRE)"
	}
	if _, err := scriptsDir(); err != nil {
		return err.Error()
	}
	return ""
}

// SkipOrFail skips t with reason, or fails it when AGENTCLOUD_REQUIRE_COMPONENTS=1.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s, and %s=1", reason, EnvRequire)
	}
	t.Skipf("skipping: %s (set %s=1 to make this a failure)", reason, EnvRequire)
}

// Start starts a private broker for the test (skipping it when ActiveMQ is
// missing); it is killed and its base dir removed when the test ends.
func Start(t testing.TB) *Broker {
	t.Helper()
	if why := Missing(); why != "" {
		SkipOrFail(t, why)
	}
	b, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Kill() })
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// Shared returns the broker named by AGENTCLOUD_ACTIVEMQ_URL when set and
// reachable, else a private one (Start). An unreachable AGENTCLOUD_ACTIVEMQ_URL
// skips the test (or fails it under AGENTCLOUD_REQUIRE_COMPONENTS=1).
func Shared(t testing.TB) Endpoint {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		return Start(t).Endpoint
	}
	ep := Endpoint{URL: u, Login: os.Getenv(EnvLogin), Passcode: os.Getenv(EnvPasscode)}
	addr := strings.TrimPrefix(strings.TrimPrefix(u, "stomp://"), "tcp://")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ProbeSTOMP(ctx, addr, ep.Login, ep.Passcode); err != nil {
		SkipOrFail(t, fmt.Sprintf("%s=%s does not answer STOMP: %v", EnvURL, u, err))
	}
	return ep
}

// New prepares a private broker in base (created if needed) on a free
// 127.0.0.1 port; Start starts it. Outside tests (TestMain) call Kill when
// done.
func New(base string) (*Broker, error) {
	scripts, err := scriptsDir()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return &Broker{
		Endpoint: Endpoint{URL: "stomp://" + addr, Login: DefaultLogin, Passcode: DefaultPasscode},
		Base:     base,
		Addr:     addr,
		scripts:  scripts,
	}, nil
}

// Start starts the broker (start.sh) and returns once STOMP answers. Starting
// a running broker is a no-op. The port stays the same across restarts.
func (b *Broker) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.script(ctx, "start.sh")
}

// Stop stops the broker cleanly (stop.sh: SIGTERM, then SIGKILL).
func (b *Broker) Stop(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.script(ctx, "stop.sh")
}

// Kill SIGKILLs the broker process, as a crash would; nil when it was not
// running. It waits until the process is gone.
func (b *Broker) Kill() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	pid, err := b.PID()
	if err != nil || pid == 0 {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing ActiveMQ pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("ActiveMQ pid %d still alive 30s after SIGKILL", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = os.Remove(filepath.Join(b.Base, "activemq.pid"))
	return nil
}

// PID is the broker's process id (0 when not running).
func (b *Broker) PID() (int, error) {
	data, err := os.ReadFile(filepath.Join(b.Base, "activemq.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading ActiveMQ pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("ActiveMQ pid file %s: %w", filepath.Join(b.Base, "activemq.pid"), err)
	}
	if !processAlive(pid) {
		return 0, nil
	}
	return pid, nil
}

// LogTail returns the last n lines of the broker's log, for failure messages.
func (b *Broker) LogTail(n int) string {
	data, err := os.ReadFile(filepath.Join(b.Base, "activemq.log"))
	if err != nil {
		return fmt.Sprintf("(no broker log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// script runs start.sh or stop.sh for this broker.
func (b *Broker) script(ctx context.Context, name string) error {
	host, port, _ := net.SplitHostPort(b.Addr)
	cmd := exec.CommandContext(ctx, filepath.Join(b.scripts, name))
	cmd.Env = append(os.Environ(),
		"ACTIVEMQ_BASE="+b.Base,
		"ACTIVEMQ_STOMP_HOST="+host,
		"ACTIVEMQ_STOMP_PORT="+port,
		"ACTIVEMQ_LOGIN="+b.Login,
		"ACTIVEMQ_PASSCODE="+b.Passcode,
		"ACTIVEMQ_INSTALL=0",
		"ACTIVEMQ_STOP_TIMEOUT=20",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s (base %s): %w\n%s\nbroker log:\n%s", name, b.Base, err, strings.TrimSpace(string(out)), b.LogTail(20))
	}
	return nil
}

// ProbeSTOMP connects to addr and succeeds when a STOMP CONNECT with the
// credentials is answered with CONNECTED.
func ProbeSTOMP(ctx context.Context, addr, login, passcode string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	frame := "CONNECT\naccept-version:1.1,1.2\nhost:localhost\nheart-beat:0,0\n"
	if login != "" || passcode != "" {
		frame += "login:" + login + "\npasscode:" + passcode + "\n"
	}
	if _, err := c.Write([]byte(frame + "\n\x00")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the answer to CONNECT: %w", err)
	}
	if cmd := strings.TrimSpace(line); cmd != "CONNECTED" {
		return fmt.Errorf("CONNECT answered with %s", cmd)
	}
	_, _ = c.Write([]byte("DISCONNECT\n\n\x00"))
	return nil
}

// scriptsDir finds images/activemq: EnvScripts, else relative to this
// source file.
func scriptsDir() (string, error) {
	dir := os.Getenv(EnvScripts)
	if dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return "", errors.New("cannot locate images/activemq (set " + EnvScripts + ")")
		}
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "images", "activemq")
	}
	if _, err := os.Stat(filepath.Join(dir, "start.sh")); err != nil {
		return "", fmt.Errorf("images/activemq/start.sh not found in %s (set %s)", dir, EnvScripts)
	}
	return filepath.Clean(dir), nil
}

// freePort returns a 127.0.0.1 port nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// processAlive reports whether pid runs (and is not a zombie).
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
