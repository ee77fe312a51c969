// Package httpserver serves cloudmgr's HTTP endpoints: /metrics, /healthz
// (the process is alive), /readyz (policies loaded and a tick completed),
// GET /api/v1/status (the last tick's report as JSON) and a status page at /
// rendering the same report.
package httpserver

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentcloud/agentcloud/cloudmgr/scaler"
)

// PathStatus is the JSON status endpoint.
const PathStatus = "/api/v1/status"

// Source is what the server reports on; *scaler.Loop is one.
type Source interface {
	// Status returns the last tick's report.
	Status() *scaler.Report
	// Ready reports whether the loop is ready, with the reason when not.
	Ready() (bool, string)
}

// New returns the handler of every endpoint.
func New(src Source, reg *prometheus.Registry, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:      reg,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ok, why := src.Ready(); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + why + "\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("GET "+PathStatus, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(src.Status()); err != nil {
			log.Warn("writing status", "error", err)
		}
	})
	page := newPage()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page.serve(w, src, log)
	})
	return mux
}
