package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/agentcloud/agentcloud/providers"
)

// Desired states kept in instance.json.
const (
	desiredRunning   = "running"
	desiredSuspended = "suspended"
)

// File names inside an instance dir.
const (
	recordFile = "instance.json"
	workDir    = "work"
	logFile    = "agent.log"
)

// record is an instance's instance.json.
type record struct {
	Name         string             `json:"name"`
	Owner        string             `json:"owner"`
	Installation string             `json:"installation"`
	Pool         string             `json:"pool"`
	Image        string             `json:"image,omitempty"`
	Offering     providers.Offering `json:"offering"`
	// Env is the request's agent environment, kept to start the agent again on resume.
	Env         map[string]string `json:"env,omitempty"`
	Created     time.Time         `json:"created"`
	Started     time.Time         `json:"started"`
	SuspendedAt time.Time         `json:"suspended_at,omitzero"`
	// Desired is desiredRunning or desiredSuspended.
	Desired string `json:"desired"`
	// PID is the agent process, leader of its own process group; 0 when none.
	PID int `json:"pid,omitempty"`
	// PIDStart is field 22 of /proc/<pid>/stat (start time in clock ticks after
	// boot) when the process was started; a live pid with another start time is
	// a different process.
	PIDStart uint64 `json:"pid_start,omitempty"`
}

// validName matches instance names usable as one path element.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// instanceDir returns the dir of the named instance.
func (p *Provider) instanceDir(name string) string { return filepath.Join(p.cfg.Dir, name) }

// readRecord reads an instance's instance.json; a missing file is fs.ErrNotExist.
func readRecord(dir string) (*record, error) {
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(dir, recordFile), err)
	}
	return &r, nil
}

// writeRecord writes an instance's instance.json atomically (temp file + rename).
func writeRecord(dir string, r *record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the record of %s: %w", r.Name, err)
	}
	f, err := os.CreateTemp(dir, "."+recordFile+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing the record of %s: %w", r.Name, err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, recordFile))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing the record of %s: %w", r.Name, err)
	}
	return nil
}
