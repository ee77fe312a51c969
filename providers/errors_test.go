package providers

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestIsKindThroughWrapping(t *testing.T) {
	notFound := NewError(KindNotFound, "suspend", "i-1", errors.New("no such instance"))
	capacity := Errorf(KindCapacity, "create", "n-1", "zone %s exhausted", "a")
	quota := NewError(KindQuota, "create", "n-2", nil)
	throttled := NewError(KindThrottled, "list", "", nil)
	notSupported := NewError(KindNotSupported, "suspend", "i-2", nil)
	unavailable := NewError(KindUnavailable, "list", "", io.ErrUnexpectedEOF)

	checks := map[ErrorKind]func(error) bool{
		KindNotFound:     IsNotFound,
		KindCapacity:     IsCapacity,
		KindQuota:        IsQuota,
		KindThrottled:    IsThrottled,
		KindNotSupported: IsNotSupported,
		KindUnavailable:  IsUnavailable,
	}

	tests := []struct {
		name string
		err  error
		want []ErrorKind // kinds for which IsX must be true; every other IsX must be false
	}{
		{"nil", nil, nil},
		{"plain error", errors.New("boom"), nil},
		{"not found", notFound, []ErrorKind{KindNotFound}},
		{"capacity", capacity, []ErrorKind{KindCapacity}},
		{"quota", quota, []ErrorKind{KindQuota}},
		{"throttled", throttled, []ErrorKind{KindThrottled}},
		{"not supported", notSupported, []ErrorKind{KindNotSupported}},
		{"unavailable", unavailable, []ErrorKind{KindUnavailable}},
		{"wrapped with %w", fmt.Errorf("suspending pool p: %w", notFound), []ErrorKind{KindNotFound}},
		{"wrapped twice", fmt.Errorf("tick: %w", fmt.Errorf("creating: %w", capacity)), []ErrorKind{KindCapacity}},
		{"wrapped with %v loses the kind", fmt.Errorf("suspending: %v", notFound), nil},
		{"joined", errors.Join(notFound, capacity), []ErrorKind{KindNotFound, KindCapacity}},
		{"joined with plain and nil", errors.Join(nil, errors.New("x"), quota), []ErrorKind{KindQuota}},
		{"joined then wrapped", fmt.Errorf("batch: %w", errors.Join(notFound, capacity)), []ErrorKind{KindNotFound, KindCapacity}},
		{"wrapped then joined", errors.Join(fmt.Errorf("a: %w", throttled), fmt.Errorf("b: %w", unavailable)), []ErrorKind{KindThrottled, KindUnavailable}},
		{"join of joins", errors.Join(errors.Join(notFound), fmt.Errorf("w: %w", errors.Join(errors.New("x"), notSupported))), []ErrorKind{KindNotFound, KindNotSupported}},
		{"multiple %w", fmt.Errorf("%w and %w", quota, capacity), []ErrorKind{KindQuota, KindCapacity}},
		{"typed error wrapping a typed error", NewError(KindUnavailable, "create", "n", capacity), []ErrorKind{KindUnavailable, KindCapacity}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := map[ErrorKind]bool{}
			for _, k := range tc.want {
				want[k] = true
			}
			for kind, is := range checks {
				if got := is(tc.err); got != want[kind] {
					t.Errorf("Is(%s) on %v = %v, want %v", kind, tc.err, got, want[kind])
				}
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want ErrorKind
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), ""},
		{"typed", NewError(KindQuota, "create", "n", nil), KindQuota},
		{"wrapped", fmt.Errorf("w: %w", NewError(KindThrottled, "list", "", nil)), KindThrottled},
		{"joined: first typed wins", errors.Join(errors.New("x"), NewError(KindCapacity, "create", "a", nil), NewError(KindQuota, "create", "b", nil)), KindCapacity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.want {
				t.Errorf("KindOf(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestErrorMessageAndUnwrap(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"full", NewError(KindNotFound, "suspend", "i-1", cause), "suspend i-1: not_found: unexpected EOF"},
		{"no id", NewError(KindThrottled, "list", "", cause), "list: throttled: unexpected EOF"},
		{"no cause", NewError(KindQuota, "create", "n-1", nil), "create n-1: quota"},
		{"formatted", Errorf(KindCapacity, "create", "n-1", "zone %s", "a"), "create n-1: capacity: zone a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
	if err := fmt.Errorf("w: %w", NewError(KindNotFound, "suspend", "i-1", cause)); !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, cause) = false, want true through Unwrap", err)
	}
}
