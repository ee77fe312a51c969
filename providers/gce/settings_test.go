package gce

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigFromSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     Config
		wantErr  []string
	}{
		{
			name:     "minimal",
			settings: map[string]string{"project": "ci-proj", "zones": "us-central1-a"},
			want: Config{Name: "gce-ci", Project: "ci-proj", Zones: []string{"us-central1-a"},
				PageSize: 500, OperationTimeout: 10 * time.Minute, StaleAfter: 30 * time.Second},
		},
		{
			name: "everything",
			settings: map[string]string{"project": "ci-proj", "zones": " us-central1-a, us-central1-b europe-west1-b ",
				"endpoint": "http://127.0.0.1:8080/", "page_size": "100", "operation_timeout": "3m"},
			want: Config{Name: "gce-ci", Project: "ci-proj", Zones: []string{"us-central1-a", "us-central1-b", "europe-west1-b"},
				Endpoint: "http://127.0.0.1:8080", PageSize: 100, OperationTimeout: 3 * time.Minute, StaleAfter: 30 * time.Second},
		},
		{
			name:     "missing project and zones",
			settings: map[string]string{},
			wantErr:  []string{"project is required", "at least one zone"},
		},
		{
			name:     "credentials are refused",
			settings: map[string]string{"project": "p", "zones": "us-central1-a", "credentials_file": "/etc/key.json"},
			wantErr:  []string{"settings.credentials_file", "Application Default Credentials"},
		},
		{
			name:     "unknown setting",
			settings: map[string]string{"project": "p", "zones": "us-central1-a", "region": "us-central1"},
			wantErr:  []string{"settings.region: unknown setting (known: project, zones, endpoint, page_size, operation_timeout)"},
		},
		{
			name:     "bad values",
			settings: map[string]string{"project": "p", "zones": "US-Central1", "page_size": "1000", "operation_timeout": "soon", "endpoint": "ftp://x"},
			wantErr:  []string{"settings.page_size", "settings.operation_timeout"},
		},
		{
			name:     "bad zone and endpoint",
			settings: map[string]string{"project": "p", "zones": "US-Central1", "endpoint": "ftp://x"},
			wantErr:  []string{`"US-Central1" is not a zone name`, `endpoint "ftp://x"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromSettings("gce-ci", tc.settings)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want one containing %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.want.Name || got.Project != tc.want.Project || !slices.Equal(got.Zones, tc.want.Zones) ||
				got.Endpoint != tc.want.Endpoint || got.PageSize != tc.want.PageSize ||
				got.OperationTimeout != tc.want.OperationTimeout || got.StaleAfter != tc.want.StaleAfter {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNewChecksTheConfig(t *testing.T) {
	if _, err := New(context.Background(), Config{Name: "x"}, nil); err == nil || !strings.Contains(err.Error(), "gce provider x: config: project is required") {
		t.Errorf("New with an empty config: %v", err)
	}
}

// TestNewNeedsApplicationDefaultCredentials: against Google (no http://
// endpoint), New fails at once when ADC yields no credentials.
func TestNewNeedsApplicationDefaultCredentials(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "absent.json"))
	_, err := New(context.Background(), Config{Name: "x", Project: "p", Zones: []string{"us-central1-a"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "absent.json") {
		t.Errorf("New with GOOGLE_APPLICATION_CREDENTIALS naming a missing file: %v, want an error naming it", err)
	}
}

func TestPoolSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		check    func(t *testing.T, ps poolSettings)
		wantErr  []string
	}{
		{
			name:     "defaults",
			settings: nil,
			check: func(t *testing.T, ps poolSettings) {
				if !ps.startupScript || ps.externalIP || ps.serviceAccount != "" || len(ps.scopes) != 0 {
					t.Errorf("defaults %+v", ps)
				}
			},
		},
		{
			name: "full",
			settings: map[string]string{
				"instance_template": "global/instanceTemplates/t", "machine_type": "e2-small", "disk_size_gb": "50",
				"disk_type": "pd-ssd", "network": "ci", "subnetwork": "agents", "external_ip": "true",
				"service_account": "a@p.iam.gserviceaccount.com", "tags": "a, b", "startup_script": "false",
				"metadata.enable-oslogin": "TRUE", "labels.Cost Center": "R&D",
			},
			check: func(t *testing.T, ps poolSettings) {
				if ps.template != "global/instanceTemplates/t" || ps.machineType != "e2-small" || ps.diskSizeGB != 50 ||
					ps.diskType != "pd-ssd" || ps.network != "ci" || ps.subnetwork != "agents" || !ps.externalIP || ps.startupScript {
					t.Errorf("parsed %+v", ps)
				}
				if !slices.Equal(ps.scopes, []string{"https://www.googleapis.com/auth/cloud-platform"}) {
					t.Errorf("scopes %v, want cloud-platform by default with a service account", ps.scopes)
				}
				if !slices.Equal(ps.tags, []string{"a", "b"}) || ps.metadata["enable-oslogin"] != "TRUE" || ps.labels["cost-center"] != "r-d" {
					t.Errorf("tags %v metadata %v labels %v", ps.tags, ps.metadata, ps.labels)
				}
			},
		},
		{
			name: "problems, all at once",
			settings: map[string]string{
				"disk_size_gb": "5", "external_ip": "maybe", "service_account": "nobody", "tags": "Bad_Tag",
				"metadata.agentcloud-env": "x", "metadata.startup-script": "x", "labels.agentcloud-pool": "x", "colour": "blue",
			},
			wantErr: []string{"settings.disk_size_gb", "settings.external_ip", "settings.service_account", "settings.tags",
				"settings.metadata.agentcloud-env", "settings.metadata.startup-script", "settings.labels.agentcloud-pool", "settings.colour: unknown setting"},
		},
		{
			name:     "scopes without an account",
			settings: map[string]string{"scopes": "cloud-platform"},
			wantErr:  []string{"settings.scopes: scopes need a service_account"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := parsePoolSettings(tc.settings)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if ValidatePoolSettings(tc.settings) == nil {
					t.Error("ValidatePoolSettings accepts what parsePoolSettings refuses")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, ps)
		})
	}
}
