package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Field lists, for unknown-field messages.
var (
	topFields          = []string{"id", "listen", "poll_interval", "poll_timeout", "stale_after", "tick_interval", "policies", "providers", "installations"}
	providerFields     = []string{"name", "type", "settings"}
	installationFields = []string{"name", "master_url", "token_env", "token_file", "agent"}
	agentFields        = []string{"broker_url", "prefix", "token_env", "token_file", "env"}
	// literalTokenFields are refused with a pointer to token_env and token_file.
	literalTokenFields = []string{"token", "master_token", "bearer_token", "password", "secret"}
)

// reservedEnv are the agent variables cloudmgr sets itself; agent.env may not.
var reservedEnv = []string{"AGENTCLOUD_BROKER_URL", "AGENTCLOUD_PREFIX", "AGENTCLOUD_POOL", "AGENTCLOUD_AGENT_ID", "AGENTCLOUD_TOKEN"}

var (
	namePattern    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	yamlLine       = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Load reads and checks the config file at path. providerTypes lists the
// provider types the caller can build; nil skips that check. Tokens are read
// from their environment variables and files. Every problem is returned at
// once, as Problems.
func Load(path string, providerTypes []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Problems{{Source: path, Msg: "cannot read: " + err.Error()}}
	}
	return Parse(path, data, providerTypes)
}

// Parse checks config data read from path (path names the file in problems
// and anchors relative paths).
func Parse(path string, data []byte, providerTypes []string) (*Config, error) {
	r := &reader{file: path}
	c := &Config{
		Path:         path,
		Listen:       DefaultListen,
		PollInterval: DefaultPollInterval,
		PollTimeout:  DefaultPollTimeout,
		StaleAfter:   DefaultStaleAfter,
		TickInterval: DefaultTickInterval,
	}
	root, err := parseYAML(data)
	if err != nil {
		p := Problem{Source: path, Msg: "bad YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			p = Problem{Source: path + ":" + m[1], Msg: "bad YAML: " + m[2]}
		}
		return nil, Problems{p}
	}
	if root == nil {
		return nil, Problems{{Source: path, Msg: "empty config file"}}
	}
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // relative paths in the file stay right whatever the working dir of their user (an agent's is its work dir)
	}
	seen := map[string]*yaml.Node{}
	for _, kv := range r.fields(root, "", topFields) {
		seen[kv.key.Value] = kv.key
		switch kv.key.Value {
		case "id":
			c.ID = r.str(kv.val, "id")
			if c.ID != "" && !validName(c.ID) {
				r.problem(kv.val, "id", "want lowercase letters, digits and dashes (at most 63), got "+quote(c.ID))
			}
		case "listen":
			c.Listen = r.str(kv.val, "listen")
			if _, _, err := net.SplitHostPort(c.Listen); err != nil {
				r.problem(kv.val, "listen", "want host:port, got "+quote(c.Listen))
			}
		case "poll_interval":
			r.duration(kv.val, "poll_interval", &c.PollInterval)
		case "poll_timeout":
			r.duration(kv.val, "poll_timeout", &c.PollTimeout)
		case "stale_after":
			r.duration(kv.val, "stale_after", &c.StaleAfter)
		case "tick_interval":
			r.duration(kv.val, "tick_interval", &c.TickInterval)
		case "policies":
			if p := r.str(kv.val, "policies"); p != "" {
				c.Policies = resolvePath(dir, p)
			} else {
				r.problem(kv.val, "policies", "want the policy file or folder")
			}
		case "providers":
			for i, n := range r.list(kv.val, "providers") {
				c.Providers = append(c.Providers, r.provider(n, fmt.Sprintf("providers[%d]", i), dir, providerTypes))
			}
		case "installations":
			for i, n := range r.list(kv.val, "installations") {
				c.Installations = append(c.Installations, r.installation(n, fmt.Sprintf("installations[%d]", i), dir))
			}
		}
	}
	r.required(root, seen, "id", "policies", "providers", "installations")
	if c.StaleAfter <= c.PollInterval {
		k, f := firstSeen(seen, "stale_after", "poll_interval")
		r.problem(k, f, fmt.Sprintf("stale_after (%s) must be longer than poll_interval (%s), or every status is stale", c.StaleAfter, c.PollInterval))
	}
	if c.PollTimeout >= c.StaleAfter {
		k, f := firstSeen(seen, "poll_timeout", "stale_after")
		r.problem(k, f, fmt.Sprintf("poll_timeout (%s) must be shorter than stale_after (%s)", c.PollTimeout, c.StaleAfter))
	}
	if k := seen["providers"]; k != nil && len(c.Providers) == 0 {
		r.problem(k, "providers", "want at least one provider")
	}
	if k := seen["installations"]; k != nil && len(c.Installations) == 0 {
		r.problem(k, "installations", "want at least one installation")
	}
	r.unique(c)
	if len(r.problems) > 0 {
		slices.SortStableFunc(r.problems, func(a, b Problem) int { return lineOf(a.Source) - lineOf(b.Source) })
		return nil, r.problems
	}
	return c, nil
}

// parseYAML decodes the first document; nil when the file is empty.
func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc)
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil
	}
	return doc.Content[0], nil
}

// required reports the top-level fields that are missing.
func (r *reader) required(root *yaml.Node, seen map[string]*yaml.Node, names ...string) {
	for _, name := range names {
		if seen[name] == nil {
			r.problem(root, name, "required")
		}
	}
}

// firstSeen returns the key node and name of the first of names the file gave.
func firstSeen(seen map[string]*yaml.Node, names ...string) (*yaml.Node, string) {
	for _, n := range names {
		if seen[n] != nil {
			return seen[n], n
		}
	}
	return nil, names[0]
}

// provider reads one entry of providers.
func (r *reader) provider(n *yaml.Node, field, dir string, types []string) Provider {
	p := Provider{Dir: dir, Source: source(r.file, n.Line)}
	for _, kv := range r.fields(n, field, providerFields) {
		name := join(field, kv.key.Value)
		switch kv.key.Value {
		case "name":
			p.Name = r.str(kv.val, name)
			if p.Name != "" && !validName(p.Name) {
				r.problem(kv.val, name, "want lowercase letters, digits and dashes, got "+quote(p.Name))
			}
		case "type":
			p.Type = r.str(kv.val, name)
			if p.Type != "" && types != nil && !slices.Contains(types, p.Type) {
				r.problem(kv.val, name, "unknown provider type "+quote(p.Type)+" (known: "+strings.Join(types, ", ")+")")
			}
		case "settings":
			p.Settings = r.strMap(kv.val, name)
		}
	}
	if p.Name == "" {
		r.problem(n, join(field, "name"), "required")
	}
	if p.Type == "" {
		r.problem(n, join(field, "type"), "required")
	}
	return p
}

// installation reads one entry of installations.
func (r *reader) installation(n *yaml.Node, field, dir string) Installation {
	inst := Installation{Source: source(r.file, n.Line), Events: Events{Enabled: true}}
	var agentNode *yaml.Node
	tok := tokenNodes{field: field, at: n}
	evNodes := eventsNodes{field: field}
	srcNodes := sourceNodes{field: field}
	known := append(append(append(slices.Clone(installationFields), eventsFields...), sourceFields...), literalTokenFields...)
	for _, kv := range r.fields(n, field, known) {
		name := join(field, kv.key.Value)
		switch kv.key.Value {
		case "name":
			inst.Name = r.str(kv.val, name)
			if inst.Name != "" && !validName(inst.Name) {
				r.problem(kv.val, name, "want lowercase letters, digits and dashes, got "+quote(inst.Name))
			}
		case "master_url":
			inst.MasterURL = strings.TrimRight(r.str(kv.val, name), "/")
			if u, err := url.Parse(inst.MasterURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				r.problem(kv.val, name, "want an http or https URL, got "+quote(inst.MasterURL))
			}
		case "token_env":
			inst.TokenEnv, tok.env = r.str(kv.val, name), kv.val
		case "token_file":
			inst.TokenFile, tok.file = r.str(kv.val, name), kv.val
		case "agent":
			agentNode = kv.val
		case "events", "events_broker_url", "events_login_env", "events_passcode_env":
			r.eventsField(kv, name, &inst.Events, &evNodes)
		case "source", "activemq":
			r.sourceField(kv, name, &inst, &srcNodes)
		default:
			r.problem(kv.key, name, "a literal token is not allowed in the config: use token_env or token_file")
		}
	}
	if inst.Name == "" {
		r.problem(n, join(field, "name"), "required")
	}
	r.finishSource(&inst, n, srcNodes) // master_url: required unless source: activemq
	inst.Token = r.token(tok, dir, inst.TokenEnv, inst.TokenFile)
	if agentNode == nil {
		r.problem(n, join(field, "agent"), "required (at least agent.broker_url)")
	} else {
		inst.Agent = r.agent(agentNode, join(field, "agent"), dir)
	}
	if inst.Agent.Prefix == "" {
		inst.Agent.Prefix = inst.Name
	}
	r.finishEvents(&inst, evNodes)
	return inst
}

// agent reads an installation's agent section.
func (r *reader) agent(n *yaml.Node, field, dir string) Agent {
	var a Agent
	tok := tokenNodes{field: field, at: n}
	for _, kv := range r.fields(n, field, append(slices.Clone(agentFields), literalTokenFields...)) {
		name := join(field, kv.key.Value)
		switch kv.key.Value {
		case "broker_url":
			a.BrokerURL = r.str(kv.val, name)
			if u, err := url.Parse(a.BrokerURL); err != nil || (u.Scheme != "stomp" && u.Scheme != "stomp+ssl") || u.Host == "" {
				r.problem(kv.val, name, "want stomp://host:port or stomp+ssl://host:port, got "+quote(a.BrokerURL))
			}
		case "prefix":
			a.Prefix = r.str(kv.val, name)
		case "token_env":
			a.TokenEnv, tok.env = r.str(kv.val, name), kv.val
		case "token_file":
			a.TokenFile, tok.file = r.str(kv.val, name), kv.val
		case "env":
			a.Env = r.strMap(kv.val, name)
			for _, k := range sortedKeys(a.Env) {
				switch {
				case !envNamePattern.MatchString(k):
					r.problem(kv.val, join(name, k), "not a valid environment variable name")
				case slices.Contains(reservedEnv, k):
					r.problem(kv.val, join(name, k), "set by cloudmgr itself; use the agent fields instead")
				}
			}
		default:
			r.problem(kv.key, name, "a literal token is not allowed in the config: use token_env or token_file")
		}
	}
	if a.BrokerURL == "" {
		r.problem(n, join(field, "broker_url"), "required")
	}
	a.Token = r.token(tok, dir, a.TokenEnv, a.TokenFile)
	return a
}

// tokenNodes locate a section's token fields for problems.
type tokenNodes struct {
	field         string
	at, env, file *yaml.Node
}

// token reads a token from an environment variable or a file; both empty
// means no token.
func (r *reader) token(t tokenNodes, dir, env, file string) string {
	switch {
	case env != "" && file != "":
		r.problem(t.env, t.field, "give token_env or token_file, not both")
		return ""
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || strings.TrimSpace(v) == "" {
			r.problem(t.env, join(t.field, "token_env"), "environment variable "+env+" is not set or empty")
		}
		return strings.TrimSpace(v)
	case file != "":
		path := resolvePath(dir, file)
		data, err := os.ReadFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			r.problem(t.file, join(t.field, "token_file"), "cannot read "+path+": "+err.Error())
			return ""
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			r.problem(t.file, join(t.field, "token_file"), path+" is empty")
		}
		return v
	}
	return ""
}

// unique reports repeated provider and installation names.
func (r *reader) unique(c *Config) {
	provs := map[string]string{}
	for i, p := range c.Providers {
		if p.Name == "" {
			continue
		}
		if first, ok := provs[p.Name]; ok {
			r.problems = append(r.problems, Problem{Source: p.Source, Field: "providers[" + strconv.Itoa(i) + "].name", Msg: "provider " + p.Name + " defined twice (first at " + first + ")"})
			continue
		}
		provs[p.Name] = p.Source
	}
	insts := map[string]string{}
	for i, in := range c.Installations {
		if in.Name == "" {
			continue
		}
		if first, ok := insts[in.Name]; ok {
			r.problems = append(r.problems, Problem{Source: in.Source, Field: "installations[" + strconv.Itoa(i) + "].name", Msg: "installation " + in.Name + " defined twice (first at " + first + ")"})
			continue
		}
		insts[in.Name] = in.Source
	}
}

// lineOf returns the line of a "file:line" source (0 when there is none).
func lineOf(src string) int {
	i := strings.LastIndexByte(src, ':')
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(src[i+1:])
	return n
}

// validName reports whether s is a DNS-label-like name.
func validName(s string) bool {
	return len(s) <= 63 && namePattern.MatchString(s)
}

// resolvePath anchors a relative path at dir.
func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
