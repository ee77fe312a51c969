package gce

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fetchEnvScript is the image's fetch script, which the unit runs before the agent.
const fetchEnvScript = "../../images/gce/agentcloud-fetch-env"

// requireTool skips the test when a program is missing, unless
// AGENTCLOUD_REQUIRE_COMPONENTS=1, where it fails.
func requireTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("AGENTCLOUD_REQUIRE_COMPONENTS") == "1" {
				t.Fatalf("%s is required (AGENTCLOUD_REQUIRE_COMPONENTS=1) but missing: %v", n, err)
			}
			t.Skipf("%s is not installed: %v", n, err)
		}
	}
}

// metadataServer is a fake GCE metadata server serving instance attributes;
// it refuses requests without the Metadata-Flavor header, as the real one does.
type metadataServer struct {
	mu    sync.Mutex
	attrs map[string]string
}

func (m *metadataServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
		return
	}
	key, ok := strings.CutPrefix(r.URL.Path, "/computeMetadata/v1/instance/attributes/")
	m.mu.Lock()
	v, found := m.attrs[key]
	m.mu.Unlock()
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write([]byte(v))
}

func (m *metadataServer) set(key, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if value == "" {
		delete(m.attrs, key)
		return
	}
	m.attrs[key] = value
}

// scriptEnv runs a script with the test's overrides and returns its output.
func runScript(t *testing.T, script string, env []string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", script)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestStartupScriptStartsTheAgentWithTheMetadataEnv(t *testing.T) {
	requireTool(t, "sh", "curl", "setsid", "cmp")
	agentEnv := map[string]string{
		"AGENTCLOUD_BROKER_URL":      "stomp+ssl://broker.example:61614",
		"AGENTCLOUD_BROKER_PASSCODE": `p@ss w$rd "quoted" \ back`,
		"AGENTCLOUD_AGENT_ID":        "inst-pool-1",
		"AGENTCLOUD_POOL":            "pool",
	}
	text, err := encodeEnv(agentEnv)
	if err != nil {
		t.Fatal(err)
	}
	md := &metadataServer{attrs: map[string]string{MetadataEnv: text}}
	srv := httptest.NewServer(md)
	defer srv.Close()

	dir := t.TempDir()
	script := filepath.Join(dir, "startup.sh")
	if err := os.WriteFile(script, []byte(startupScript), 0o755); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(dir, "agent-env.txt")
	agent := filepath.Join(dir, "agent")
	if err := os.WriteFile(agent, []byte("#!/bin/sh\nenv > \""+dump+".tmp\" && mv \""+dump+".tmp\" \""+dump+"\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "etc", "agent.env")
	env := []string{
		"AGENTCLOUD_METADATA_URL=" + srv.URL + "/computeMetadata/v1",
		"AGENTCLOUD_ENV_FILE=" + envFile,
		"AGENTCLOUD_UNIT=agentcloud-test-absent-unit.service",
		"AGENTCLOUD_AGENT_BIN=" + agent,
		"AGENTCLOUD_AGENT_LOG=" + filepath.Join(dir, "agent.log"),
	}
	if out, err := runScript(t, script, env); err != nil {
		t.Fatalf("startup script: %v\n%s", err, out)
	}
	b, err := os.ReadFile(envFile)
	if err != nil || string(b) != text {
		t.Fatalf("env file = %q, %v; want %q", b, err, text)
	}
	if st, _ := os.Stat(envFile); st.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600 (it holds the token)", st.Mode().Perm())
	}
	eventually(t, "the agent to start", func() bool { _, err := os.Stat(dump); return err == nil })
	got := map[string]string{}
	f, _ := os.Open(dump)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			got[k] = v
		}
	}
	f.Close()
	for k, v := range agentEnv {
		if got[k] != v {
			t.Errorf("the agent got %s=%q, want %q", k, got[k], v)
		}
	}

	// The image's fetch script writes the same file.
	envFile2 := filepath.Join(dir, "etc2", "agent.env")
	if out, err := runScript(t, fetchEnvScript, []string{"AGENTCLOUD_METADATA_URL=" + srv.URL + "/computeMetadata/v1", "AGENTCLOUD_ENV_FILE=" + envFile2}); err != nil {
		t.Fatalf("fetch-env: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(envFile2); string(b) != text {
		t.Errorf("fetch-env wrote %q, want %q", b, text)
	}

	// Without the key (a machine recreated from a kept disk): the file is kept.
	md.set(MetadataEnv, "")
	for _, s := range []string{script, fetchEnvScript} {
		ef := envFile
		if s == fetchEnvScript {
			ef = envFile2
		}
		if out, err := runScript(t, s, append(env[1:], "AGENTCLOUD_METADATA_URL="+srv.URL+"/computeMetadata/v1", "AGENTCLOUD_ENV_FILE="+ef)); err != nil {
			t.Errorf("%s without the metadata key but with the file: %v\n%s", filepath.Base(s), err, out)
		}
		if b, _ := os.ReadFile(ef); string(b) != text {
			t.Errorf("%s without the metadata key changed the file to %q", filepath.Base(s), b)
		}
		// Without either, the script fails loudly.
		if out, err := runScript(t, s, append(env[1:], "AGENTCLOUD_METADATA_URL="+srv.URL+"/computeMetadata/v1", "AGENTCLOUD_ENV_FILE="+filepath.Join(dir, "none", "agent.env"))); err == nil {
			t.Errorf("%s with no metadata and no file succeeded:\n%s", filepath.Base(s), out)
		}
	}
}
