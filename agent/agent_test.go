package agent

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentcloud/agentcloud/agent/config"
	"github.com/agentcloud/agentcloud/agent/facts"
)

func TestGatherFactsResolvesAgentID(t *testing.T) {
	gce := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "no flavor", http.StatusForbidden)
			return
		}
		w.Write([]byte(`{"instance": {"name": "gce-vm-3", "zone": "projects/1/zones/europe-west1-b"}}`))
	}))
	defer gce.Close()
	log := slog.New(slog.DiscardHandler)

	tests := []struct {
		name    string
		agentID string
		cloud   bool
		want    string
	}{
		{"configured id wins", "given-id", true, "given-id"},
		{"cloud instance name next", "", true, "gce-vm-3"},
		{"hostname last", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.AgentID = tt.agentID
			cfg.Pool = "linux"
			cfg.FactsDir = t.TempDir()
			cfg.CloudFacts = tt.cloud
			cfg.GCEMetadataURL = gce.URL
			cfg.EC2MetadataURL = "-"
			f, err := GatherFacts(context.Background(), &cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				host, _ := facts.Lookup(f, "networking.hostname")
				want, _ = host.(string)
			}
			if cfg.AgentID != want {
				t.Errorf("AgentID = %q, want %q", cfg.AgentID, want)
			}
			if v, _ := facts.Lookup(f, "agentcloud.agent_id"); v != want {
				t.Errorf("agentcloud.agent_id = %v, want %q", v, want)
			}
			if v, _ := facts.Lookup(f, "agentcloud.pool"); v != "linux" {
				t.Errorf("agentcloud.pool = %v", v)
			}
			_, hasGCE := f["gce"]
			if hasGCE != tt.cloud {
				t.Errorf("gce fact present = %v, want %v", hasGCE, tt.cloud)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"stomp://u:secret@host:61613", "stomp://u:xxxxx@host:61613"},
		{"stomp://host:61613", "stomp://host:61613"},
		{"stomp+ssl://u@host:1", "stomp+ssl://u@host:1"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
