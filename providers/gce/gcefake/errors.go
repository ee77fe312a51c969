package gcefake

import (
	"fmt"
	"net/http"
)

// apiError is a synchronous error answer in the shape Google APIs use:
// {"error": {"code", "message", "status", "errors": [{"message", "domain", "reason"}]}}.
type apiError struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Status  string        `json:"status,omitempty"`
	Errors  []errorDetail `json:"errors"`
}

// errorDetail is one entry of an error answer's errors list.
type errorDetail struct {
	Message string `json:"message"`
	Domain  string `json:"domain"`
	Reason  string `json:"reason"`
}

// Error renders the answer for logs.
func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, e.Errors[0].Reason, e.Message)
}

// rpcStatus maps an HTTP code to the google.rpc status name the API sends along.
func rpcStatus(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ALREADY_EXISTS"
	case http.StatusPreconditionFailed:
		return "FAILED_PRECONDITION"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	}
	return ""
}

// newAPIError builds an error answer with one detail.
func newAPIError(code int, domain, reason, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	return &apiError{Code: code, Message: msg, Status: rpcStatus(code), Errors: []errorDetail{{Message: msg, Domain: domain, Reason: reason}}}
}

// errNotFound is the 404 of a missing resource.
func errNotFound(link string) *apiError {
	return newAPIError(http.StatusNotFound, "global", "notFound", "The resource '%s' was not found", link)
}

// errAlreadyExists is the 409 of a name taken.
func errAlreadyExists(link string) *apiError {
	return newAPIError(http.StatusConflict, "global", "alreadyExists", "The resource '%s' already exists", link)
}

// errInvalid is the 400 of a bad field.
func errInvalid(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "global", "invalid", format, args...)
}

// errNotReady is the 400 of an operation the resource's state does not allow.
func errNotReady(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "global", "resourceNotReady", format, args...)
}

// errInUse is the 400 of deleting a disk that is attached.
func errInUse(disk, user string) *apiError {
	return newAPIError(http.StatusBadRequest, "global", "resourceInUseByAnotherResource",
		"The disk resource '%s' is already being used by '%s'", disk, user)
}

// errFingerprint is the 412 of a stale label fingerprint.
func errFingerprint() *apiError {
	return newAPIError(http.StatusPreconditionFailed, "global", "conditionNotMet",
		"Labels fingerprint either invalid or resource labels have changed")
}
