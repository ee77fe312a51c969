package ec2

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"

	"github.com/agentcloud/agentcloud/providers"
)

// maxUserData is EC2's limit on user-data, before base64.
const maxUserData = 16 * 1024

// secretWords mark an env var name whose value must not go into user-data.
var secretWords = []string{"PASSCODE", "PASSWORD", "SECRET", "TOKEN", "PRIVATE_KEY", "ACCESS_KEY", "API_KEY", "CREDENTIAL"}

// SecretEnvKey reports whether an env var name looks like it holds a secret
// (its upper-cased name contains PASSCODE, PASSWORD, SECRET, TOKEN,
// PRIVATE_KEY, ACCESS_KEY, API_KEY or CREDENTIAL). Such a value is refused in
// user-data, which anyone allowed ec2:DescribeInstanceAttribute and every
// process on the machine (through the metadata service) can read, unless the
// provider allows it (allow_secrets_in_user_data) or the pool fetches the
// variable from SSM Parameter Store instead (settings ssm.<NAME>).
func SecretEnvKey(name string) bool {
	u := strings.ToUpper(name)
	return slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(u, w) })
}

// UserDataInput is what a user-data template (the default or a pool's
// settings.user_data_template, a Go text/template) is executed with.
type UserDataInput struct {
	// Name, Owner, Installation and Pool identify the instance.
	Name, Owner, Installation, Pool string
	// Env is the agent's environment that goes into user-data (secret-looking
	// names only when allowed; names fetched from SSM removed).
	Env map[string]string
	// SSM maps env var names to the SSM parameters the machine fetches them
	// from at boot, with its instance role.
	SSM map[string]string
	// EnvFile is Env rendered as a systemd EnvironmentFile (also valid sh):
	// one NAME="value" line each, sorted.
	EnvFile string
	// SSMFile is SSM rendered as NAME=parameter lines, sorted.
	SSMFile string
}

// defaultUserData writes /etc/agentcloud/agent.env (plus the instance id from
// the metadata service, IMDSv2) and /etc/agentcloud/ssm.env, then (re)starts
// the agent unit the image ships (images/ec2/agentcloud-agent.service).
// AGENTCLOUD_ETC and AGENTCLOUD_IMDS exist for tests.
const defaultUserData = `#!/bin/sh
# agentcloud user-data for {{.Name}} (installation {{.Installation}}, pool {{.Pool}}).
# It holds the agent's configuration only; secrets are fetched at boot from
# SSM Parameter Store by the instance role (ssm.env), never written here.
set -eu
etc=${AGENTCLOUD_ETC:-/etc/agentcloud}
imds=${AGENTCLOUD_IMDS:-http://169.254.169.254/latest}
umask 077
mkdir -p "$etc"
cat > "$etc/agent.env.new" <<'AGENTCLOUD_EOF'
{{.EnvFile}}AGENTCLOUD_EOF
if ! grep -q '^AGENTCLOUD_INSTANCE=' "$etc/agent.env.new"; then
	if tok=$(curl -sf -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$imds/api/token") &&
		id=$(curl -sf -m 5 -H "X-aws-ec2-metadata-token: $tok" "$imds/meta-data/instance-id"); then
		echo "AGENTCLOUD_INSTANCE=\"$id\"" >> "$etc/agent.env.new"
	fi
fi
mv "$etc/agent.env.new" "$etc/agent.env"
cat > "$etc/ssm.env" <<'AGENTCLOUD_EOF'
{{.SSMFile}}AGENTCLOUD_EOF
systemctl daemon-reload
systemctl enable agentcloud-agent.service
systemctl restart agentcloud-agent.service
`

// defaultUserDataTemplate is defaultUserData parsed.
var defaultUserDataTemplate = template.Must(template.New("default user-data").Option("missingkey=error").Parse(defaultUserData))

// userData renders the instance's user-data (base64, as RunInstances wants
// it) and returns the secret-looking env names it put there in clear.
func userData(req providers.CreateRequest, spec *poolSpec, allowSecrets bool) (string, []string, error) {
	in := UserDataInput{
		Name: req.Name, Owner: req.Owner, Installation: req.Installation, Pool: req.Pool,
		Env: map[string]string{}, SSM: spec.SSM,
	}
	var clear []string
	for _, k := range slices.Sorted(maps.Keys(req.Env)) {
		v := req.Env[k]
		if !validEnvKey.MatchString(k) {
			return "", nil, fmt.Errorf("env %q: not an environment variable name", k)
		}
		if strings.ContainsAny(v, "\n\r\x00") {
			return "", nil, fmt.Errorf("env %s: a value cannot hold a newline or NUL", k)
		}
		if _, fromSSM := spec.SSM[k]; fromSSM {
			continue
		}
		if v != "" && SecretEnvKey(k) {
			if !allowSecrets {
				return "", nil, fmt.Errorf("env %s looks secret and user-data is readable by anyone allowed "+
					"ec2:DescribeInstanceAttribute and by every process on the machine: store it in SSM Parameter Store "+
					"and set the pool's settings.ssm.%s to the parameter name (the instance role fetches it at boot), "+
					"or set the provider's allow_secrets_in_user_data=true", k, k)
			}
			clear = append(clear, k)
		}
		in.Env[k] = v
	}
	var env, ssm strings.Builder
	for _, k := range slices.Sorted(maps.Keys(in.Env)) {
		fmt.Fprintf(&env, "%s=%s\n", k, quoteEnv(in.Env[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(in.SSM)) {
		fmt.Fprintf(&ssm, "%s=%s\n", k, in.SSM[k])
	}
	in.EnvFile, in.SSMFile = env.String(), ssm.String()

	t := defaultUserDataTemplate
	if spec.UserData != nil {
		t = spec.UserData
	}
	var b bytes.Buffer
	if err := t.Execute(&b, in); err != nil {
		return "", nil, fmt.Errorf("rendering user-data: %w", err)
	}
	if b.Len() > maxUserData {
		return "", nil, fmt.Errorf("user-data has %d bytes, more than EC2's %d", b.Len(), maxUserData)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes()), clear, nil
}

// quoteEnv double-quotes a value so that systemd's EnvironmentFile parser and
// sh read it back unchanged: \ " $ and ` are escaped with a backslash.
func quoteEnv(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '\\', '"', '$', '`':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
