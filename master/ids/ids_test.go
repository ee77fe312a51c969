package ids

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIDsSortInCreationOrder(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	g := NewGenerator(clock, nil)
	var got []string
	for i := range 2000 {
		if i%500 == 0 {
			now = now.Add(time.Millisecond)
		}
		id, err := g.New()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, Prefix) || len(id) != len(Prefix)+26 {
			t.Fatalf("id %q: want %q and 26 digits", id, Prefix)
		}
		got = append(got, id)
	}
	if !slices.IsSorted(got) {
		t.Fatal("ids made in order do not sort in order")
	}
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatal("duplicate ids")
	}
}

func TestIDsStayMonotonicWhenClockGoesBack(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	g := NewGenerator(func() time.Time { return now }, nil)
	a, _ := g.New()
	now = now.Add(-time.Hour)
	b, _ := g.New()
	if b <= a {
		t.Fatalf("id after clock step back %q sorts before %q", b, a)
	}
}

func TestIncrementOverflowBorrowsNextMillisecond(t *testing.T) {
	now := time.UnixMilli(1000)
	g := NewGenerator(func() time.Time { return now }, bytes.NewReader(bytes.Repeat([]byte{0xff}, 10)))
	a, err := g.New()
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.New()
	if err != nil {
		t.Fatal(err)
	}
	if b <= a {
		t.Fatalf("after overflow %q sorts before %q", b, a)
	}
}

func TestRandomFailureIsReported(t *testing.T) {
	g := NewGenerator(nil, failingReader{})
	if _, err := g.New(); err == nil || !strings.Contains(err.Error(), "random") {
		t.Fatalf("New() error = %v, want one about random bits", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }
