package ec2

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentcloud/agentcloud/providers"
)

// render renders a request's user-data and decodes it.
func render(t *testing.T, req providers.CreateRequest, settings map[string]string, allow bool) (string, []string, error) {
	t.Helper()
	spec, err := parsePool(settings)
	if err != nil {
		t.Fatal(err)
	}
	b64, clear, err := userData(req, spec, allow)
	if err != nil {
		return "", nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("user-data is not base64: %v", err)
	}
	return string(raw), clear, nil
}

// trickyEnv holds values that break naive quoting.
var trickyEnv = map[string]string{
	"AGENTCLOUD_BROKER_URL": "stomp+ssl://broker.example:61614",
	"AGENTCLOUD_POOL":       "linux",
	"QUOTES":                `say "hi" it's`,
	"DOLLAR":                "$HOME and ${PATH}",
	"BACKTICK":              "`id` $(id)",
	"BACKSLASH":             `C:\path\n`,
	"SPACES":                "  two  spaces ",
	"HASH":                  "#not a comment",
	"EQUALS":                "a=b=c",
	"EMPTY":                 "",
	"EOF_LOOKALIKE":         "AGENTCLOUD_EOF",
}

func TestSecretEnvKey(t *testing.T) {
	for _, k := range []string{"AGENTCLOUD_BROKER_PASSCODE", "AGENTCLOUD_TOKEN", "MY_SECRET", "db_password", "AWS_SECRET_ACCESS_KEY", "GITHUB_API_KEY", "SSH_PRIVATE_KEY", "SOME_CREDENTIALS"} {
		if !SecretEnvKey(k) {
			t.Errorf("SecretEnvKey(%s) = false", k)
		}
	}
	for _, k := range []string{"AGENTCLOUD_BROKER_URL", "AGENTCLOUD_BROKER_LOGIN", "AGENTCLOUD_AGENT_ID", "AGENTCLOUD_POOL", "KEYBOARD"} {
		if SecretEnvKey(k) {
			t.Errorf("SecretEnvKey(%s) = true", k)
		}
	}
}

func TestUserDataSecrets(t *testing.T) {
	req := providers.CreateRequest{Name: "n-1", Owner: "o", Pool: "p", Env: map[string]string{
		"AGENTCLOUD_BROKER_URL": "stomp://b:61613", "AGENTCLOUD_BROKER_PASSCODE": "hunter2", "AGENTCLOUD_TOKEN": "tok-123",
	}}
	if _, _, err := render(t, req, nil, false); err == nil || !strings.Contains(err.Error(), "AGENTCLOUD_BROKER_PASSCODE looks secret") ||
		!strings.Contains(err.Error(), "allow_secrets_in_user_data=true") {
		t.Errorf("secrets without permission or SSM: %v; want a refusal naming the key and both ways out", err)
	}

	ud, clear, err := render(t, req, map[string]string{"ssm.AGENTCLOUD_BROKER_PASSCODE": "/ac/passcode", "ssm.AGENTCLOUD_TOKEN": "/ac/token"}, false)
	if err != nil {
		t.Fatalf("secrets from SSM: %v", err)
	}
	if strings.Contains(ud, "hunter2") || strings.Contains(ud, "tok-123") || len(clear) != 0 {
		t.Errorf("user-data holds a secret fetched from SSM (clear %v):\n%s", clear, ud)
	}
	for _, want := range []string{"AGENTCLOUD_BROKER_PASSCODE=/ac/passcode\nAGENTCLOUD_TOKEN=/ac/token\n", `AGENTCLOUD_BROKER_URL="stomp://b:61613"`} {
		if !strings.Contains(ud, want) {
			t.Errorf("user-data lacks %q:\n%s", want, ud)
		}
	}

	ud, clear, err = render(t, req, nil, true)
	if err != nil || !strings.Contains(ud, `AGENTCLOUD_BROKER_PASSCODE="hunter2"`) || !slices.Equal(clear, []string{"AGENTCLOUD_BROKER_PASSCODE", "AGENTCLOUD_TOKEN"}) {
		t.Errorf("secrets allowed: clear %v, err %v:\n%s", clear, err, ud)
	}

	req.Env = map[string]string{"AGENTCLOUD_TOKEN": ""}
	if _, _, err := render(t, req, nil, false); err != nil {
		t.Errorf("an empty secret-looking value: %v", err)
	}
}

func TestUserDataLimits(t *testing.T) {
	req := providers.CreateRequest{Name: "n-1", Owner: "o", Env: map[string]string{"BIG": strings.Repeat("x", maxUserData)}}
	if _, _, err := render(t, req, nil, false); err == nil || !strings.Contains(err.Error(), "16384") {
		t.Errorf("oversized user-data: %v", err)
	}
	req.Env = map[string]string{"BAD KEY": "x"}
	if _, _, err := render(t, req, nil, false); err == nil {
		t.Error("an env name with a space was accepted")
	}
}

func TestUserDataTemplate(t *testing.T) {
	req := providers.CreateRequest{Name: "n-1", Owner: "o", Installation: "i", Pool: "p", Env: map[string]string{"A": "1"}}
	ud, _, err := render(t, req, map[string]string{"user_data_template": "#cloud-config\n# {{.Name}} {{.Pool}} {{index .Env \"A\"}}\n{{.EnvFile}}"}, false)
	if err != nil || ud != "#cloud-config\n# n-1 p 1\nA=\"1\"\n" {
		t.Errorf("pool template rendered %q, %v", ud, err)
	}
	if _, _, err := render(t, req, map[string]string{"user_data_template": "{{.Nope}}"}, false); err == nil || !strings.Contains(err.Error(), "rendering user-data") {
		t.Errorf("a template naming a missing field: %v", err)
	}
}

// The default user-data run by sh (the way cloud-init runs it) writes an
// agent.env that gives every value back unchanged, adds the instance id from
// the metadata service (IMDSv2, faked over HTTP) and restarts the unit.
func TestUserDataScriptRuns(t *testing.T) {
	for _, bin := range []string{"sh", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing(t, "%s: %v", bin, err)
		}
	}
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" && r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") != "":
			w.Write([]byte("imds-token"))
		case r.URL.Path == "/latest/meta-data/instance-id" && r.Header.Get("X-aws-ec2-metadata-token") == "imds-token":
			w.Write([]byte("i-0fromimds"))
		default:
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}
	}))
	defer imds.Close()

	dir := t.TempDir()
	req := providers.CreateRequest{Name: "inst-linux-1", Owner: "o", Installation: "inst", Pool: "linux", Env: trickyEnv}
	ud, _, err := render(t, req, map[string]string{"ssm.AGENTCLOUD_TOKEN": "/agentcloud/inst/token"}, false)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "user-data")
	bindir := filepath.Join(dir, "bin")
	etc := filepath.Join(dir, "etc", "agentcloud")
	calls := filepath.Join(dir, "systemctl.calls")
	if err := os.WriteFile(script, []byte(ud), 0o700); err != nil {
		t.Fatal(err)
	}
	writeExe(t, filepath.Join(bindir, "systemctl"), "#!/bin/sh\necho \"$*\" >> "+calls+"\n")
	cmd := exec.Command("sh", script)
	cmd.Env = append(os.Environ(), "PATH="+bindir+":"+os.Getenv("PATH"), "AGENTCLOUD_ETC="+etc, "AGENTCLOUD_IMDS="+imds.URL+"/latest")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user-data failed: %v\n%s\n--- script:\n%s", err, out, ud)
	}

	envFile := filepath.Join(etc, "agent.env")
	if fi, err := os.Stat(envFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("agent.env: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	got := sourceEnv(t, envFile)
	for k, v := range trickyEnv {
		if got[k] != v {
			t.Errorf("agent.env gives %s=%q, want %q", k, got[k], v)
		}
	}
	if got["AGENTCLOUD_INSTANCE"] != "i-0fromimds" {
		t.Errorf("AGENTCLOUD_INSTANCE=%q, want the id from the metadata service", got["AGENTCLOUD_INSTANCE"])
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "ssm.env")); string(b) != "AGENTCLOUD_TOKEN=/agentcloud/inst/token\n" {
		t.Errorf("ssm.env = %q", b)
	}
	if b, _ := os.ReadFile(calls); string(b) != "daemon-reload\nenable agentcloud-agent.service\nrestart agentcloud-agent.service\n" {
		t.Errorf("systemctl calls:\n%s", b)
	}
}

// images/ec2/fetch-secrets, with a fake aws CLI, writes an env file that
// gives the SSM values back unchanged, root-only, and refuses a newline.
func TestFetchSecrets(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		missing(t, "sh: %v", err)
	}
	dir := t.TempDir()
	bindir := filepath.Join(dir, "bin")
	writeExe(t, filepath.Join(bindir, "aws"), "#!/bin/sh\n"+
		"cat >/dev/null\n"+ // like a CLI that reads stdin: the loop's input must survive
		"while [ $# -gt 0 ]; do [ \"$1\" = --name ] && name=$2; shift; done\n"+
		"case $name in\n"+
		"/ac/token) printf '%s\\n' 'tok \"quoted\" $x `y` \\z' ;;\n"+
		"/ac/passcode) printf '%s\\n' 'p4ss' ;;\n"+
		"/ac/multi) printf 'a\\nb\\n' ;;\n"+
		"*) echo \"no parameter $name\" >&2; exit 254 ;;\n"+
		"esac\n")
	ssm := filepath.Join(dir, "ssm.env")
	out := filepath.Join(dir, "run", "secrets.env")
	run := func(content string) error {
		if err := os.WriteFile(ssm, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", filepath.Join("..", "..", "images", "ec2", "fetch-secrets"), ssm, out)
		cmd.Env = append(os.Environ(), "PATH="+bindir+":"+os.Getenv("PATH"), "AWS_REGION=us-east-1")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("fetch-secrets: %s", b)
		}
		return err
	}
	if err := run("AGENTCLOUD_TOKEN=/ac/token\nAGENTCLOUD_BROKER_PASSCODE=/ac/passcode\n"); err != nil {
		t.Fatalf("fetch-secrets: %v", err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v (mode %v), want 0600", err, fi.Mode().Perm())
	}
	got := sourceEnv(t, out)
	if got["AGENTCLOUD_TOKEN"] != `tok "quoted" $x `+"`y`"+` \z` || got["AGENTCLOUD_BROKER_PASSCODE"] != "p4ss" {
		t.Errorf("secrets read back as %q", got)
	}
	if err := run("X=/ac/multi\n"); err == nil {
		t.Error("a multi-line parameter was accepted")
	}
	if err := run(""); err != nil {
		t.Errorf("no parameters: %v", err)
	}
	if b, _ := os.ReadFile(out); len(b) != 0 {
		t.Errorf("no parameters left %q", b)
	}
}

// writeExe writes an executable script, creating its folder.
func writeExe(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// sourceEnv reads an env file the way sh does (set -a; . file) and returns
// the variables it sets, NUL-separated so values may hold anything.
func sourceEnv(t *testing.T, file string) map[string]string {
	t.Helper()
	cmd := exec.Command("sh", "-c", `set -a; . "$1"; set +a; env -0`, "sh", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sourcing %s: %v", file, err)
	}
	m := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
