package policies

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads one policy file, or every *.yaml and *.yml file of a folder
// (sorted by name, not recursive, dot files skipped). A file may hold several
// YAML documents. Each document is a mapping with two lists:
//
//	installations:
//	  - name: acme
//	    max_agents: 40
//	pools:
//	  - installation: acme
//	    pool: linux
//	    provider: local
//	    max_agents: 10
//
// Top-level keys starting with "x-" are ignored: they are the place for YAML
// anchors that pools merge with "<<: *name".
//
// Every problem is reported at once, as Problems ("file:line: field: reason").
// Defaults (see Defaults) are applied to the fields a pool leaves out. Load does
// not validate values against each other or against the providers: see
// Validate and LoadAndValidate.
func Load(path string) (*Set, error) {
	set, ps := load(path)
	if len(ps) > 0 {
		sortProblems(ps)
		return nil, ps
	}
	return set, nil
}

// load reads path and returns what could be read, with every problem found.
func load(path string) (*Set, Problems) {
	l := &loader{set: &Set{Installations: map[string]*Installation{}}}
	files, err := policyFiles(path)
	if err != nil {
		return l.set, Problems{{Source: path, Msg: err.Error()}}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			l.problem(f, 0, "", "cannot read: "+pathErr(err))
			continue
		}
		l.file(f, data)
	}
	return l.set, l.problems
}

// policyFiles lists the files to read at path.
func policyFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, errors.New("cannot read: " + pathErr(err))
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, errors.New("cannot read folder: " + pathErr(err))
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		files = append(files, filepath.Join(path, name))
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, errors.New("no policy files (*.yaml, *.yml) in folder")
	}
	return files, nil
}

// pathErr drops the path from an *fs.PathError: the Problem already names it.
func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// loader accumulates a Set and its problems across files.
type loader struct {
	set      *Set
	problems Problems
}

func (l *loader) problem(file string, line int, field, msg string) {
	src := file
	if line > 0 {
		src = source(file, line)
	}
	l.problems = append(l.problems, Problem{Source: src, Field: field, Msg: msg})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// file reads every YAML document of one file.
func (l *loader) file(file string, data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				l.problems = append(l.problems, Problem{Source: file + ":" + m[1], Msg: "bad YAML: " + m[2]})
			} else {
				l.problem(file, 0, "", "bad YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
			}
			return
		}
		l.document(file, &doc)
	}
}

// topFields are the keys a document may have.
var topFields = []string{"installations", "pools"}

// document reads one YAML document.
func (l *loader) document(file string, doc *yaml.Node) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return
	}
	d := &decoder{l: l, file: file}
	if root.Kind != yaml.MappingNode {
		d.problem(root, "", "want a mapping with installations and pools, got "+kindName(root))
		return
	}
	for _, kv := range d.pairs(root, "at top level") {
		switch key := kv.key.Value; {
		case key == "installations":
			for i, n := range d.list(kv.val, "installations") {
				l.installation(d, i, n)
			}
		case key == "pools":
			for i, n := range d.list(kv.val, "pools") {
				if p := l.pool(d, i, n); p != nil {
					l.set.Pools = append(l.set.Pools, p)
				}
			}
		case strings.HasPrefix(key, "x-"):
			// A place for anchors.
		default:
			d.unknown(kv.key, "at top level", topFields)
		}
	}
}

// installationFields are the keys an installation may have.
var installationFields = []string{"name", "max_agents"}

// installation reads one entry of installations.
func (l *loader) installation(d *decoder, i int, n *yaml.Node) {
	where := "installations[" + itoa(i) + "]"
	if n.Kind != yaml.MappingNode {
		d.problem(n, where, "want a mapping with name and max_agents, got "+kindName(n))
		return
	}
	inst := &Installation{Source: source(d.file, n.Line)}
	pairs := d.pairs(n, "in "+where)
	for _, kv := range pairs {
		if kv.key.Value == "name" {
			d.str("name", kv.val, &inst.Name)
		}
	}
	if inst.Name != "" {
		where = "installation " + inst.Name
	}
	for _, kv := range pairs {
		switch kv.key.Value {
		case "name":
		case "max_agents":
			d.int("max_agents", kv.val, &inst.MaxAgents)
		default:
			d.unknown(kv.key, "in "+where, installationFields)
		}
	}
	if inst.Name == "" {
		d.problem(n, "name", "required in "+where)
		return
	}
	if first, dup := l.set.Installations[inst.Name]; dup {
		d.problem(n, "", "installation "+inst.Name+" defined twice (first at "+first.Source+")")
		return
	}
	l.set.Installations[inst.Name] = inst
}
