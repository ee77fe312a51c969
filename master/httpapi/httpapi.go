// Package httpapi serves the master's HTTP API (DESIGN.md §4.5):
//
//	POST /api/v1/compositions                  submit (api.CompositionRequest → 201 api.Composition)
//	GET  /api/v1/compositions?state=&pool=&limit=   list, newest first (CompositionList)
//	GET  /api/v1/compositions/{id}             one, with output and context (api.Composition)
//	GET  /api/v1/compositions/{id}/output?after=CURSOR&limit=N
//	                                           output lines after a cursor, plus the state (OutputPage)
//	POST /api/v1/compositions/{id}/cancel      stop it (optional api.CancelRequest → api.Composition;
//	                                           409 once finished)
//	GET  /api/v1/pools                         queue and agents per pool (api.PoolsResponse)
//	POST /api/v1/agents/{id}/drain             close an agent to new work (api.DrainResponse)
//	GET  /healthz                              liveness, no token needed
//	GET  /metrics                              Prometheus metrics
//
// Every path but /healthz needs "Authorization: Bearer <token>" with one of
// the configured tokens, unless none is configured (insecure mode). Errors are
// api.ErrorResponse bodies saying what was wrong and where.
package httpapi

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/store"
)

// PathCompositionOutput is formatted with the composition id.
const PathCompositionOutput = "/api/v1/compositions/%s/output"

// Backend is what the API serves; *dispatch.Dispatcher implements it.
type Backend interface {
	Submit(ctx context.Context, req api.CompositionRequest) (api.Composition, error)
	Get(ctx context.Context, id string, withOutput bool) (api.Composition, error)
	List(ctx context.Context, f store.Filter) ([]api.Composition, error)
	OutputAfter(ctx context.Context, id string, after int64, limit int) (api.Composition, []store.Line, error)
	Pools(ctx context.Context) api.PoolsResponse
	Drain(ctx context.Context, agentID string) (api.DrainResponse, error)
	Cancel(ctx context.Context, id, reason string) (api.Composition, error)
}

// Config configures the handler.
type Config struct {
	// Tokens are the accepted bearer tokens; none means no authentication.
	Tokens []string
	// Metrics serves /metrics (nil: 404).
	Metrics http.Handler
	// Log receives request errors (default: discarded).
	Log *slog.Logger
	// MaxBodyBytes caps a request body (default 4 MiB).
	MaxBodyBytes int64
}

type server struct {
	b   Backend
	cfg Config
	log *slog.Logger
}

// New returns the API handler.
func New(b Backend, cfg Config) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	s := &server{b: b, cfg: cfg, log: cfg.Log}

	guarded := http.NewServeMux()
	guarded.HandleFunc("POST "+api.PathCompositions, s.submit)
	guarded.HandleFunc("GET "+api.PathCompositions, s.list)
	guarded.HandleFunc("GET "+api.PathCompositions+"/{id}", s.get)
	guarded.HandleFunc("GET "+api.PathCompositions+"/{id}/output", s.output)
	guarded.HandleFunc("POST "+api.PathCompositions+"/{id}/cancel", s.cancel)
	guarded.HandleFunc("GET "+api.PathPools, s.pools)
	guarded.HandleFunc("POST /api/v1/agents/{id}/drain", s.drain)
	if cfg.Metrics != nil {
		guarded.Handle("GET "+api.PathMetrics, cfg.Metrics)
	}

	root := http.NewServeMux()
	root.HandleFunc("GET "+api.PathHealth, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	root.Handle("/", s.authenticate(guarded))
	return s.logRequests(root)
}

// authenticate lets through requests with a configured bearer token.
func (s *server) authenticate(next http.Handler) http.Handler {
	if len(s.cfg.Tokens) == 0 {
		return next
	}
	tokens := make([][]byte, len(s.cfg.Tokens))
	for i, t := range s.cfg.Tokens {
		tokens[i] = []byte(t)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="agentcloud-master"`)
			writeError(w, http.StatusUnauthorized, `missing bearer token: send the header "Authorization: Bearer <token>"`)
			return
		}
		given := []byte(strings.TrimSpace(tok))
		match := 0
		for _, t := range tokens {
			match |= subtle.ConstantTimeCompare(given, t)
		}
		if match != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="agentcloud-master", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests logs every request at debug level, and server errors at error level.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		level := slog.LevelDebug
		if rec.status >= 500 {
			level = slog.LevelError
		}
		s.log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration", time.Since(start), "remote", r.RemoteAddr)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
