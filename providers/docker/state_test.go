package docker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/volume"

	"github.com/agentcloud/agentcloud/providers"
)

func TestInstanceOf(t *testing.T) {
	created := time.Unix(1_700_000_000, 0)
	resumed := marker{volume: "v-r", kind: markResumed, at: created.Add(time.Hour)}
	suspended := marker{volume: "v-s", kind: markSuspended, at: created.Add(2 * time.Hour)}
	none := marker{}
	tests := []struct {
		state       string
		m           marker
		want        providers.State
		startedAt   time.Time
		suspendedAt time.Time
	}{
		{"running", none, providers.StateRunning, created, time.Time{}},
		{"running", resumed, providers.StateRunning, resumed.at, time.Time{}},
		{"running", suspended, providers.StateRunning, suspended.at, time.Time{}}, // started by hand after our suspend
		{"created", none, providers.StatePending, created, time.Time{}},
		{"created", suspended, providers.StateSuspended, created, suspended.at},
		{"restarting", suspended, providers.StatePending, suspended.at, time.Time{}},
		{"exited", suspended, providers.StateSuspended, created, suspended.at},
		{"paused", suspended, providers.StateSuspended, created, suspended.at},
		{"dead", suspended, providers.StateSuspended, created, suspended.at},
		{"exited", none, providers.StateRunning, created, time.Time{}}, // died: a dead machine
		{"exited", resumed, providers.StateRunning, resumed.at, time.Time{}},
		{"paused", none, providers.StateRunning, created, time.Time{}}, // paused by someone else
		{"removing", suspended, providers.StateDestroying, suspended.at, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s", tc.state, tc.m.kind), func(t *testing.T) {
			c := ctr{id: "abc", name: "n1", state: tc.state, labels: map[string]string{
				providers.LabelOwner: "me", providers.LabelInstallation: "i", providers.LabelPool: "p",
				LabelZone: "z", providers.LabelSuspendedAt: "123", // a stale label from the image is not trusted
			}}
			in := instanceOf(c, created, tc.m)
			if in.State != tc.want || !in.StartedAt.Equal(tc.startedAt) || !in.SuspendedAt.Equal(tc.suspendedAt) {
				t.Errorf("instance = %s, started %v, suspended %v; want %s, %v, %v", in.State, in.StartedAt, in.SuspendedAt, tc.want, tc.startedAt, tc.suspendedAt)
			}
			wantLabel := ""
			if tc.want == providers.StateSuspended {
				wantLabel = strconv.FormatInt(tc.suspendedAt.Unix(), 10)
			}
			if in.Labels[providers.LabelSuspendedAt] != wantLabel || in.Labels[LabelState] != tc.state {
				t.Errorf("labels = %v; want %s=%q, %s=%q", in.Labels, providers.LabelSuspendedAt, wantLabel, LabelState, tc.state)
			}
			if in.ID != "abc" || in.Name != "n1" || in.Owner != "me" || in.Installation != "i" || in.Pool != "p" ||
				in.Offering.Zone != "z" || !in.CreatedAt.Equal(created) {
				t.Errorf("identity = %+v", in)
			}
			if c.labels[LabelState] != "" {
				t.Error("instanceOf changed the container's labels")
			}
		})
	}
}

func TestMarkers(t *testing.T) {
	at := time.Unix(1_700_000_000, 42)
	v := volume.Volume{Name: "n.suspended.1", Labels: map[string]string{
		LabelMarker: "suspended", LabelContainer: "abc", LabelMarkerAt: strconv.FormatInt(at.UnixNano(), 10),
	}}
	m, ok := markerOf(v)
	if !ok || m.kind != markSuspended || m.container != "abc" || !m.at.Equal(at) || m.volume != v.Name {
		t.Errorf("markerOf = %+v, %v", m, ok)
	}
	for _, labels := range []map[string]string{
		{LabelMarker: "other", LabelContainer: "abc", LabelMarkerAt: "1"},
		{LabelMarker: "resumed", LabelContainer: "abc", LabelMarkerAt: "soon"},
		{LabelMarker: "resumed", LabelMarkerAt: "1"},
		{providers.LabelOwner: "me"}, // a data volume
	} {
		if m, ok := markerOf(volume.Volume{Name: "x", Labels: labels}); ok {
			t.Errorf("markerOf(%v) = %+v, want not a marker", labels, m)
		}
	}
	a := marker{volume: "a", at: at}
	b := marker{volume: "b", at: at.Add(time.Nanosecond)}
	c := marker{volume: "c", at: at.Add(time.Nanosecond)}
	if got := newest([]marker{a, c, b}); got.volume != "c" {
		t.Errorf("newest = %s, want c (latest, ties by name)", got.volume)
	}
	if got := newest(nil); got.volume != "" || !got.at.IsZero() {
		t.Errorf("newest(nil) = %+v", got)
	}
}

func TestNameOf(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"/a1"}, "a1"},
		{[]string{"/web/db", "/db"}, "db"},
		{nil, ""},
	} {
		if got := nameOf(tc.names); got != tc.want {
			t.Errorf("nameOf(%q) = %q, want %q", tc.names, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	typed := providers.Errorf(providers.KindQuota, "create", "x", "full")
	tests := []struct {
		err  error
		kind providers.ErrorKind
	}{
		{cerrdefs.ErrNotFound.WithMessage("No such container: x"), providers.KindNotFound},
		{fmt.Errorf("wrapped: %w", cerrdefs.ErrUnavailable), providers.KindUnavailable},
		{typed, providers.KindQuota},
		{cerrdefs.ErrConflict, ""},
		{errors.New("boom"), ""},
		{context.DeadlineExceeded, ""},
	}
	for _, tc := range tests {
		if got := providers.KindOf(classify("op", "id", tc.err)); got != tc.kind {
			t.Errorf("classify(%v) kind = %q, want %q", tc.err, got, tc.kind)
		}
	}
	if classify("op", "id", nil) != nil {
		t.Error("classify(nil) != nil")
	}
}

func TestImageRepo(t *testing.T) {
	for image, want := range map[string]string{
		"agentcloud-agent":                          "agentcloud-agent",
		"agentcloud-agent:dev":                      "agentcloud-agent",
		"registry:5000/team/agentcloud-agent:1.2":   "agentcloud-agent",
		"agentcloud-agent@sha256:abc":               "agentcloud-agent",
		"registry.example.com/debian-agent:12-slim": "debian-agent",
	} {
		if got := imageRepo(image); got != want {
			t.Errorf("imageRepo(%q) = %q, want %q", image, got, want)
		}
	}
}
