package providers

import (
	"errors"
	"fmt"
)

// ErrorKind classifies provider failures so the loop can react to each.
type ErrorKind string

// Error kinds.
const (
	KindNotFound     ErrorKind = "not_found"     // the instance or image does not exist
	KindCapacity     ErrorKind = "capacity"      // zone or machine type exhausted: try the next offering
	KindQuota        ErrorKind = "quota"         // account limit reached
	KindThrottled    ErrorKind = "throttled"     // rate limited: back off
	KindNotSupported ErrorKind = "not_supported" // the provider cannot do this
	KindUnavailable  ErrorKind = "unavailable"   // the provider's endpoint cannot be reached
)

// Error is a typed provider error.
type Error struct {
	Kind ErrorKind
	// Op is what was being done ("create", "suspend", ...).
	Op string
	// ID names the instance, image or request concerned, where there is one.
	ID string
	// Err is the underlying error.
	Err error
}

// Error renders "op id: kind: cause".
func (e *Error) Error() string {
	s := e.Op
	if e.ID != "" {
		s += " " + e.ID
	}
	s += ": " + string(e.Kind)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// NewError builds a typed error.
func NewError(kind ErrorKind, op, id string, err error) error {
	return &Error{Kind: kind, Op: op, ID: id, Err: err}
}

// Errorf builds a typed error with a formatted cause.
func Errorf(kind ErrorKind, op, id, format string, args ...any) error {
	return &Error{Kind: kind, Op: op, ID: id, Err: fmt.Errorf(format, args...)}
}

// KindOf returns the kind of the first typed error in err's tree, or "".
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// hasKind walks err's whole tree (single and multiple Unwrap, as errors.As does)
// and reports whether any typed error in it has kind k. errors.As alone would stop
// at the first *Error, missing a second kind joined or wrapped behind it.
func hasKind(err error, k ErrorKind) bool {
	if err == nil {
		return false
	}
	if e, ok := err.(*Error); ok && e.Kind == k {
		return true
	}
	if a, ok := err.(interface{ As(any) bool }); ok {
		var e *Error
		if a.As(&e) && e != nil && e.Kind == k {
			return true
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return hasKind(u.Unwrap(), k)
	case interface{ Unwrap() []error }:
		for _, sub := range u.Unwrap() {
			if hasKind(sub, k) {
				return true
			}
		}
	}
	return false
}

// IsNotFound reports whether err (or any error joined in it) is a not-found error.
func IsNotFound(err error) bool { return hasKind(err, KindNotFound) }

// IsCapacity reports whether err holds an insufficient-capacity error.
func IsCapacity(err error) bool { return hasKind(err, KindCapacity) }

// IsQuota reports whether err holds a quota error.
func IsQuota(err error) bool { return hasKind(err, KindQuota) }

// IsThrottled reports whether err holds a throttling error.
func IsThrottled(err error) bool { return hasKind(err, KindThrottled) }

// IsNotSupported reports whether err holds a not-supported error.
func IsNotSupported(err error) bool { return hasKind(err, KindNotSupported) }

// IsUnavailable reports whether err holds an unreachable-endpoint error.
func IsUnavailable(err error) bool { return hasKind(err, KindUnavailable) }
