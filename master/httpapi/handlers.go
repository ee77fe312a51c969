package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/dispatch"
	"github.com/agentcloud/agentcloud/master/store"
)

// CompositionList is the body of GET /api/v1/compositions.
type CompositionList struct {
	Compositions []api.Composition `json:"compositions"`
}

// OutputPage is the body of GET /api/v1/compositions/{id}/output.
type OutputPage struct {
	ID      string               `json:"id"`
	State   api.CompositionState `json:"state"`
	Attempt int                  `json:"attempt"`
	Error   string               `json:"error,omitempty"`
	// Lines are the lines that arrived after the cursor, in arrival order.
	Lines []OutputLine `json:"lines"`
	// Next is the cursor to pass as ?after= to read what comes next.
	Next int64 `json:"next"`
	// More is true when more lines were waiting than the limit allowed.
	More bool `json:"more"`
}

// OutputLine is an output line with its cursor.
type OutputLine struct {
	Cursor int64 `json:"cursor"`
	api.OutputLine
}

func (s *server) submit(w http.ResponseWriter, r *http.Request) {
	var req api.CompositionRequest
	if status, msg := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); status != 0 {
		writeError(w, status, msg)
		return
	}
	c, err := s.b.Submit(r.Context(), req)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	w.Header().Set("Location", api.PathCompositions+"/"+url.PathEscape(c.ID))
	writeJSON(w, http.StatusCreated, c)
}

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, err := s.b.Get(r.Context(), id, true)
	if err != nil {
		s.fail(w, r, err, id)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.Filter{Pool: q.Get("pool"), State: api.CompositionState(q.Get("state"))}
	if f.State != "" && !slices.Contains(api.CompositionStates, f.State) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("query parameter state: unknown state %q (want one of %v)", f.State, api.CompositionStates))
		return
	}
	limit, err := intParam(q, "limit", 100, 1, 1000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.Limit = int(limit)
	cs, err := s.b.List(r.Context(), f)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	if cs == nil {
		cs = []api.Composition{}
	}
	writeJSON(w, http.StatusOK, CompositionList{Compositions: cs})
}

func (s *server) output(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	after, err := intParam(q, "after", 0, 0, 1<<62)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := intParam(q, "limit", 1000, 1, 5000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c, lines, err := s.b.OutputAfter(r.Context(), id, after, int(limit)+1)
	if err != nil {
		s.fail(w, r, err, id)
		return
	}
	page := OutputPage{ID: c.ID, State: c.State, Attempt: c.Attempt, Error: c.Error, Lines: []OutputLine{}, Next: after}
	if len(lines) > int(limit) {
		lines, page.More = lines[:limit], true
	}
	for _, l := range lines {
		page.Lines = append(page.Lines, OutputLine{Cursor: l.Cursor, OutputLine: l.OutputLine})
		page.Next = l.Cursor
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *server) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req api.CancelRequest
	if r.ContentLength != 0 { // the body is optional
		if status, msg := decodeJSON(w, r, s.cfg.MaxBodyBytes, &req); status != 0 {
			writeError(w, status, msg)
			return
		}
	}
	c, err := s.b.Cancel(r.Context(), id, req.Reason)
	if err != nil {
		s.fail(w, r, err, id)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *server) pools(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.b.Pools(r.Context()))
}

func (s *server) drain(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	resp, err := s.b.Drain(r.Context(), id)
	if err != nil {
		s.fail(w, r, err, id)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// fail answers a backend error.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error, id string) {
	var invalid *dispatch.InvalidError
	switch {
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, "invalid request: "+invalid.Error())
	case errors.Is(err, dispatch.ErrFinished):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, dispatch.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("composition %q not found", id))
	case errors.Is(err, dispatch.ErrUnknownAgent):
		writeError(w, http.StatusNotFound, fmt.Sprintf("agent %q is not registered with this master", id))
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
	}
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int64) (int64, error) {
	raw := q.Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("query parameter %s: want a whole number from %d to %d, got %q", name, lo, hi, raw)
	}
	return n, nil
}
