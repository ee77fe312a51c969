package broker

import (
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
)

func TestSendOptions(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	tests := []struct {
		dest                string
		ttl                 time.Duration
		persistent, expires string // "" = header absent
	}{
		{"/queue/p.master", 0, "true", ""},
		{"/queue/p.agent.a1", time.Hour, "true", "1700003600000"},
		{"/queue/p.agent.a1", -time.Second, "true", ""},
		{"/topic/p.events", time.Hour, "", ""},
		{"/queuex/odd", time.Hour, "", ""},
	}
	for _, tt := range tests {
		f := frame.New(frame.SEND)
		for _, o := range sendOptions(tt.dest, tt.ttl, now) {
			if err := o(f); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.Header.Get(persistentHeader); got != tt.persistent {
			t.Errorf("%s ttl %v: persistent = %q, want %q", tt.dest, tt.ttl, got, tt.persistent)
		}
		if got := f.Header.Get(expiresHeader); got != tt.expires {
			t.Errorf("%s ttl %v: expires = %q, want %q", tt.dest, tt.ttl, got, tt.expires)
		}
	}
}
