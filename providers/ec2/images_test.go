package ec2

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// imagesDir holds the EC2 image files, docsFile the provider's documentation.
var (
	imagesDir = filepath.Join("..", "..", "images", "ec2")
	docsFile  = filepath.Join("..", "..", "docs", "ec2.md")
)

// policy is an IAM policy document.
type policy struct {
	Version   string
	Statement []statement
}

// statement is one IAM statement; Action and Resource may be a string or a list.
type statement struct {
	Sid       string
	Effect    string
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]any
}

// stringList reads an IAM string-or-list.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// grants reports whether the statement's actions match action (IAM globs).
func (st statement) grants(action string) bool {
	for _, a := range st.Action {
		if ok, _ := path.Match(strings.ToLower(a), strings.ToLower(action)); ok {
			return true
		}
	}
	return false
}

// condition returns the value of a condition key under an operator, or nil.
func (st statement) condition(op, key string) any { return st.Condition[op][key] }

func readPolicy(t *testing.T) policy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(imagesDir, "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p policy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("iam-policy.json: %v", err)
	}
	return p
}

// The least-privilege policy: valid JSON, every SDK call the provider makes
// is granted, and the mutating ones only on tagged resources.
func TestIAMPolicy(t *testing.T) {
	p := readPolicy(t)
	if p.Version != "2012-10-17" || len(p.Statement) == 0 {
		t.Fatalf("policy version %q with %d statements", p.Version, len(p.Statement))
	}
	api := reflect.TypeFor[API]()
	for i := range api.NumMethod() {
		action := "ec2:" + api.Method(i).Name
		found := false
		for _, st := range p.Statement {
			found = found || (st.Effect == "Allow" && st.grants(action))
		}
		if !found {
			t.Errorf("the provider calls %s but the policy does not allow it", action)
		}
	}
	const owner = "agentcloud-owner"
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			t.Errorf("statement %s: effect %q", st.Sid, st.Effect)
		}
		for _, a := range st.Action {
			if a == "*" || a == "ec2:*" || a == "iam:*" {
				t.Errorf("statement %s grants %s", st.Sid, a)
			}
		}
		everything := len(st.Resource) == 1 && st.Resource[0] == "*"
		if everything && !(len(st.Action) == 1 && st.Action[0] == "ec2:Describe*") {
			t.Errorf("statement %s grants %v on every resource; only ec2:Describe* may", st.Sid, st.Action)
		}
		onInstances := strings.Contains(strings.Join(st.Resource, " "), ":instance/")
		switch {
		case st.grants("ec2:RunInstances") && onInstances:
			if st.condition("StringEquals", "aws:RequestTag/"+owner) == nil {
				t.Errorf("statement %s: RunInstances on instances without the aws:RequestTag/%s condition", st.Sid, owner)
			}
		case st.grants("ec2:RunInstances"):
			if onInstances || strings.Contains(strings.Join(st.Resource, " "), ":volume/") {
				t.Errorf("statement %s: untagged RunInstances on instances or volumes", st.Sid)
			}
		}
		if st.grants("ec2:CreateTags") {
			atLaunch := st.condition("StringEquals", "ec2:CreateAction") == "RunInstances" && st.condition("StringEquals", "aws:RequestTag/"+owner) != nil
			onOwned := st.condition("StringEquals", "aws:ResourceTag/"+owner) != nil && st.condition("ForAllValues:StringEquals", "aws:TagKeys") != nil
			if !atLaunch && !onOwned {
				t.Errorf("statement %s: CreateTags neither limited to launch (ec2:CreateAction) nor to our suspend tags on owned instances", st.Sid)
			}
		}
		for _, a := range []string{"ec2:StartInstances", "ec2:StopInstances", "ec2:TerminateInstances", "ec2:DeleteTags"} {
			if st.grants(a) && st.condition("StringEquals", "aws:ResourceTag/"+owner) == nil {
				t.Errorf("statement %s: %s without the aws:ResourceTag/%s condition", st.Sid, a, owner)
			}
		}
		if st.grants("iam:PassRole") {
			if len(st.Resource) != 1 || !regexp.MustCompile(`^arn:aws:iam::\d{12}:role/[\w+=,.@-]+$`).MatchString(st.Resource[0]) {
				t.Errorf("statement %s: PassRole on %v, want exactly the agent role", st.Sid, st.Resource)
			}
			if st.condition("StringEquals", "iam:PassedToService") != "ec2.amazonaws.com" {
				t.Errorf("statement %s: PassRole not limited to EC2", st.Sid)
			}
		}
	}
}

// docs/ec2.md shows the very policy of images/ec2/iam-policy.json.
func TestDocsShowThePolicy(t *testing.T) {
	doc, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(imagesDir, "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(file, &want); err != nil {
		t.Fatal(err)
	}
	for _, block := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		var got any
		if json.Unmarshal([]byte(block[1]), &got) == nil && reflect.DeepEqual(got, want) {
			return
		}
	}
	t.Error("docs/ec2.md has no ```json block equal to images/ec2/iam-policy.json")
}

// The unit parses (systemd-analyze verify), and the image installs the
// files it names where it names them.
func TestAgentUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join(imagesDir, "agentcloud-agent.service"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(imagesDir, "agent.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"EnvironmentFile=/etc/agentcloud/agent.env", "ConditionPathExists=/etc/agentcloud/agent.env",
		"ExecStart=/usr/local/bin/agentcloud-agent", "EnvironmentFile=-/run/agentcloud/secrets.env",
		"ExecStartPre=+/usr/local/lib/agentcloud/fetch-secrets /etc/agentcloud/ssm.env /run/agentcloud/secrets.env",
	} {
		if !strings.Contains(string(unit), want+"\n") {
			t.Errorf("the unit lacks %q", want)
		}
	}
	for _, want := range []string{
		"/usr/local/bin/agentcloud-agent", "/usr/local/lib/agentcloud/fetch-secrets",
		"/etc/systemd/system/agentcloud-agent.service", "systemctl enable agentcloud-agent.service", "useradd --system",
	} {
		if !strings.Contains(string(tmpl), want) {
			t.Errorf("agent.pkr.hcl does not install %q", want)
		}
	}
	if !strings.Contains(defaultUserData, "systemctl restart agentcloud-agent.service") || !strings.Contains(defaultUserData, `"$etc/agent.env"`) {
		t.Error("the default user-data does not write agent.env and restart the unit the image ships")
	}

	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		missing(t, "systemd-analyze (Debian package systemd) is not installed: %v", err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "agentcloud-agent.service")
	if err := os.WriteFile(file, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, "verify", file).CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// The programs exist only on the image.
		if line == "" || strings.Contains(line, "is not executable: No such file or directory") {
			continue
		}
		t.Errorf("systemd-analyze verify: %s", line)
	}
}

// packer validate accepts the template (with a stand-in agent binary: the
// file provisioner checks its source exists).
func TestPackerValidate(t *testing.T) {
	bin, err := exec.LookPath("packer")
	if err != nil {
		missing(t, "packer is not installed (Debian: apt-get install packer): %v", err)
	}
	agent := filepath.Join(t.TempDir(), "agent")
	if err := os.WriteFile(agent, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate", "-var", "agent_binary=" + agent, imagesDir}, {"fmt", "-check", imagesDir}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "PACKER_CONFIG_DIR="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("packer %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
