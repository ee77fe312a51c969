package gce

import (
	"regexp"
	"strings"
	"testing"
)

var labelValueOK = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("pool", 20)
	tests := []struct{ in, want string }{
		{"pool-a", "pool-a"},
		{"Linux.Build", "linux-build"},
		{"ACME Corp/ci", "acme-corp-ci"},
		{"snake_case_ok", "snake_case_ok"},
		{"", ""},
		{"über", "-ber"},
	}
	for _, tc := range tests {
		if got := labelValue(tc.in); got != tc.want {
			t.Errorf("labelValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	a, b := labelValue(long+"-a"), labelValue(long+"-b")
	if len(a) != 63 || a == b || !labelValueOK.MatchString(a) || !strings.HasPrefix(a, "poolpool") {
		t.Errorf("long values: %q and %q; want 63 characters, distinct, valid", a, b)
	}
	for _, k := range []string{"Team", "9lives", "_x", ""} {
		if got := labelKey(k); !regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`).MatchString(got) {
			t.Errorf("labelKey(%q) = %q, not a valid label key", k, got)
		}
	}
}

func TestOwnerFilter(t *testing.T) {
	if got, want := ownerFilter("cloudmgr-Prod"), `labels.agentcloud-owner = "cloudmgr-prod"`; got != want {
		t.Errorf("ownerFilter = %s, want %s", got, want)
	}
	if got, want := keptDiskFilter("me"), `(labels.agentcloud-owner = "me") (labels.agentcloud-suspended-at:*)`; got != want {
		t.Errorf("keptDiskFilter = %s, want %s", got, want)
	}
}

func TestEncodeEnv(t *testing.T) {
	got, err := encodeEnv(map[string]string{"B": "two words", "A": "stomp+ssl://h:61614?x=$HOME", "C": ""})
	if err != nil {
		t.Fatal(err)
	}
	if want := "A='stomp+ssl://h:61614?x=$HOME'\nB='two words'\nC=''\n"; got != want {
		t.Errorf("encodeEnv = %q, want %q", got, want)
	}
	for _, bad := range []map[string]string{
		{"A": "it's"},
		{"A": "line\nbreak"},
		{"1A": "x"},
		{"A-B": "x"},
	} {
		if _, err := encodeEnv(bad); err == nil {
			t.Errorf("encodeEnv(%q) accepted", bad)
		}
	}
}
