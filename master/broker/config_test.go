package broker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want endpoint
	}{
		{"stomp://127.0.0.1:61613", endpoint{addr: "127.0.0.1:61613", host: "127.0.0.1", display: "stomp://127.0.0.1:61613"}},
		{"tcp://broker:61613", endpoint{addr: "broker:61613", host: "broker", display: "tcp://broker:61613"}},
		{"STOMP://broker:61613/", endpoint{addr: "broker:61613", host: "broker", display: "stomp://broker:61613/"}},
		{"stomp+ssl://mq.example.com:61614", endpoint{addr: "mq.example.com:61614", host: "mq.example.com", tls: true, display: "stomp+ssl://mq.example.com:61614"}},
		{"stomp://[::1]:61613", endpoint{addr: "[::1]:61613", host: "::1", display: "stomp://[::1]:61613"}},
		{"stomp://agent:s3cret@broker:61613", endpoint{addr: "broker:61613", host: "broker", login: "agent", passcode: "s3cret", display: "stomp://agent:xxxxx@broker:61613"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := parseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseURL(%q) = %+v, want %+v", tt.url, got, tt.want)
			}
		})
	}
}

func TestNormalizeDefaults(t *testing.T) {
	tests := []struct {
		name                 string
		in                   Config
		heartBeat, min, max  time.Duration
		login, passcode, sni string
	}{
		{"zero values", Config{URL: "stomp://b:1"}, DefaultHeartBeat, DefaultMinBackoff, DefaultMaxBackoff, "", "", ""},
		{"heart-beat off", Config{URL: "stomp://b:1", HeartBeat: NoHeartBeat}, 0, DefaultMinBackoff, DefaultMaxBackoff, "", "", ""},
		{"explicit", Config{URL: "stomp://b:1", HeartBeat: time.Second, MinBackoff: time.Second, MaxBackoff: time.Minute}, time.Second, time.Second, time.Minute, "", "", ""},
		{"login from URL", Config{URL: "stomp://u:p@b:1"}, DefaultHeartBeat, DefaultMinBackoff, DefaultMaxBackoff, "u", "p", ""},
		{"login fields win", Config{URL: "stomp://u:p@b:1", Login: "l"}, DefaultHeartBeat, DefaultMinBackoff, DefaultMaxBackoff, "l", "", ""},
		{"TLS server name from URL", Config{URL: "stomp+ssl://mq.example:61614"}, DefaultHeartBeat, DefaultMinBackoff, DefaultMaxBackoff, "", "", "mq.example"},
		{"TLS server name kept", Config{URL: "stomp+ssl://10.0.0.1:61614", TLS: tlsConfigNamed("mq.internal")}, DefaultHeartBeat, DefaultMinBackoff, DefaultMaxBackoff, "", "", "mq.internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := tt.in.normalize()
			if err != nil {
				t.Fatal(err)
			}
			if got.HeartBeat != tt.heartBeat || got.MinBackoff != tt.min || got.MaxBackoff != tt.max {
				t.Errorf("heart-beat %v, backoff %v..%v; want %v, %v..%v", got.HeartBeat, got.MinBackoff, got.MaxBackoff, tt.heartBeat, tt.min, tt.max)
			}
			if got.Login != tt.login || got.Passcode != tt.passcode {
				t.Errorf("login %q/%q, want %q/%q", got.Login, got.Passcode, tt.login, tt.passcode)
			}
			switch {
			case tt.sni == "" && got.TLS != nil:
				t.Errorf("TLS configured for a plain URL")
			case tt.sni != "" && (got.TLS == nil || got.TLS.ServerName != tt.sni):
				t.Errorf("TLS %+v, want ServerName %q", got.TLS, tt.sni)
			}
		})
	}
}

func TestNormalizeDoesNotChangeCallersTLSConfig(t *testing.T) {
	mine := tlsConfig()
	cfg, _, err := Config{URL: "stomp+ssl://mq:61614", TLS: mine}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if mine.ServerName != "" || cfg.TLS == mine {
		t.Error("normalize changed the caller's tls.Config")
	}
}

func TestBackoff(t *testing.T) {
	top := func(n int64) int64 { return n - 1 }
	bottom := func(int64) int64 { return 0 }
	ms := time.Millisecond
	tests := []struct {
		attempt int
		want    time.Duration // the ceiling: the largest delay the jitter may pick
	}{
		{0, 200 * ms}, {1, 400 * ms}, {2, 800 * ms}, {5, 6400 * ms}, {6, 10 * time.Second}, {60, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempt), func(t *testing.T) {
			if got := backoff(tt.attempt, 200*ms, 10*time.Second, top); got != tt.want {
				t.Errorf("largest delay = %v, want %v", got, tt.want)
			}
			if got := backoff(tt.attempt, 200*ms, 10*time.Second, bottom); got != 0 {
				t.Errorf("smallest delay = %v, want 0 (full jitter)", got)
			}
			for range 100 {
				if got := backoff(tt.attempt, 200*ms, 10*time.Second, nil); got < 0 || got > tt.want {
					t.Fatalf("delay %v outside [0, %v]", got, tt.want)
				}
			}
		})
	}
}

func TestClassifySend(t *testing.T) {
	errorFrame := func(headers ...string) stomp.Error {
		return stomp.Error{Message: "boom", Frame: frame.New(frame.ERROR, headers...)}
	}
	tests := []struct {
		name    string
		err     error
		lost    bool // send again on the next connection
		wantNil bool
	}{
		{"nil", nil, false, true},
		{"already closed", stomp.ErrAlreadyClosed, true, false},
		{"closed unexpectedly", stomp.ErrClosedUnexpectedly, true, false},
		{"write queue stuck", stomp.ErrMsgSendTimeout, true, false},
		{"receipt timeout", stomp.ErrMsgReceiptTimeout, true, false},
		{"go-stomp connection closed", errorFrame(frame.Message, "connection closed"), true, false},
		{"ERROR about another frame", errorFrame(frame.ReceiptId, "ac-1"), true, false},
		{"ERROR answering this frame", errorFrame(frame.ReceiptId, "ac-7"), false, false},
		{"other error", errors.New("invalid option"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifySend(tt.err, "ac-7")
			if (got == nil) != tt.wantNil {
				t.Fatalf("classifySend(%v) = %v", tt.err, got)
			}
			if lost := errors.Is(got, errConnLost); lost != tt.lost {
				t.Errorf("classifySend(%v) = %v: connection lost %v, want %v", tt.err, got, lost, tt.lost)
			}
		})
	}
}
