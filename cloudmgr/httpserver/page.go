package httpserver

import (
	"bytes"
	_ "embed"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/scaler"
)

//go:embed status.html
var statusHTML string

// page renders the status page.
type page struct {
	tmpl *template.Template
}

// pageData is what the template sees.
type pageData struct {
	Report *scaler.Report
	Ready  bool
	Why    string
	Now    time.Time
}

func newPage() *page {
	funcs := template.FuncMap{
		"secs": func(s float64) string {
			return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
		},
		"ago": func(now, t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return now.Sub(t).Round(time.Second).String() + " ago"
		},
		"clock": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("15:04:05Z")
		},
		"ms": func(s float64) string {
			return (time.Duration(s * float64(time.Second))).Round(100 * time.Microsecond).String()
		},
	}
	return &page{tmpl: template.Must(template.New("status").Funcs(funcs).Parse(statusHTML))}
}

// serve renders the page; a rendering error is a 500, never half a page.
func (p *page) serve(w http.ResponseWriter, src Source, log *slog.Logger) {
	ok, why := src.Ready()
	var buf bytes.Buffer
	if err := p.tmpl.Execute(&buf, pageData{Report: src.Status(), Ready: ok, Why: why, Now: time.Now()}); err != nil {
		log.Error("rendering the status page", "error", err)
		http.Error(w, "rendering the status page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
