package api

import "time"

// Task is one plugin call in a composition.
type Task struct {
	// Plugin names the plugin (e.g. "shell").
	Plugin string `json:"plugin" yaml:"plugin"`
	// Name is an optional label for output.
	Name string `json:"name,omitempty" yaml:"name"`
	// Fields are the plugin's inputs.
	Fields map[string]any `json:"fields,omitempty" yaml:"fields"`
}

// CompositionRequest is the body of POST /api/v1/compositions.
type CompositionRequest struct {
	// Pool is the target pool.
	Pool string `json:"pool" yaml:"pool"`
	// Selector is an optional fact selector, e.g. "os.family=Debian,processors.count>=4".
	Selector string `json:"selector,omitempty" yaml:"selector"`
	// Tasks run in order.
	Tasks []Task `json:"tasks" yaml:"tasks"`
	// MaxAttempts is how many times it may be dispatched (default 1: an agent lost
	// mid-run fails it; more re-dispatches it).
	MaxAttempts int `json:"max_attempts,omitempty" yaml:"max_attempts"`
	// Context seeds the composition context.
	Context map[string]any `json:"context,omitempty" yaml:"context"`
}

// CompositionState is where a composition stands.
type CompositionState string

// Composition states.
const (
	CompQueued    CompositionState = "queued"
	CompAssigned  CompositionState = "assigned" // sent to an agent, not yet accepted
	CompRunning   CompositionState = "running"
	CompSucceeded CompositionState = "succeeded"
	CompFailed    CompositionState = "failed"
	CompCancelled CompositionState = "cancelled" // stopped on request (POST .../cancel)
)

// CompositionStates lists every state, in lifecycle order.
var CompositionStates = []CompositionState{CompQueued, CompAssigned, CompRunning, CompSucceeded, CompFailed, CompCancelled}

// Final reports whether the state is terminal.
func (s CompositionState) Final() bool {
	return s == CompSucceeded || s == CompFailed || s == CompCancelled
}

// CancelRequest is the optional body of POST /api/v1/compositions/{id}/cancel.
type CancelRequest struct {
	// Reason is kept with the composition and shown to the agent.
	Reason string `json:"reason,omitempty"`
}

// Composition is the body of GET /api/v1/compositions/{id}.
type Composition struct {
	ID          string           `json:"id"`
	Pool        string           `json:"pool"`
	Selector    string           `json:"selector,omitempty"`
	Tasks       []Task           `json:"tasks"`
	State       CompositionState `json:"state"`
	Attempt     int              `json:"attempt"`
	MaxAttempts int              `json:"max_attempts"`
	Agent       string           `json:"agent,omitempty"`
	SubmittedAt time.Time        `json:"submitted_at"`
	StartedAt   time.Time        `json:"started_at,omitzero"`
	FinishedAt  time.Time        `json:"finished_at,omitzero"`
	// Error says why it failed or was cancelled.
	Error string `json:"error,omitempty"`
	// CancelRequested holds the reason of a cancel asked for while the
	// composition was with an agent; the state turns cancelled once the agent
	// has stopped it (or succeeded, if it finished first).
	CancelRequested string `json:"cancel_requested,omitempty"`
	// Context is the composition context as tasks published it.
	Context map[string]any `json:"context,omitempty"`
	// Output is every output line, in order.
	Output []OutputLine `json:"output,omitempty"`
}

// OutputLine is one line a task printed.
type OutputLine struct {
	Attempt int       `json:"attempt"`
	Task    int       `json:"task"`
	Seq     int       `json:"seq"`
	Stream  string    `json:"stream"` // stdout or stderr
	Line    string    `json:"line"`
	At      time.Time `json:"at"`
}
