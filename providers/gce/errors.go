package gce

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"

	"github.com/agentcloud/agentcloud/providers"
)

// Operation error codes the provider tells apart.
const (
	codeZoneExhausted        = "ZONE_RESOURCE_POOL_EXHAUSTED"
	codeZoneExhaustedDetails = "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS"
	codeQuota                = "QUOTA_EXCEEDED"
	codeNotFound             = "RESOURCE_NOT_FOUND"
	codeAlreadyExists        = "RESOURCE_ALREADY_EXISTS"
	codeRateLimit            = "RATE_LIMIT_EXCEEDED"
	codeUnsupported          = "UNSUPPORTED_OPERATION"
)

// typed wraps err in a providers.Error when its kind is known, and returns
// it unchanged otherwise.
func typed(op, id string, err error) error {
	if err == nil {
		return nil
	}
	if k := kindOf(err); k != "" {
		return providers.NewError(k, op, id, err)
	}
	return err
}

// kindOf classifies an error from the API: a synchronous HTTP error, a failed
// operation, or a transport failure. "" means no kind the loop treats apart.
func kindOf(err error) providers.ErrorKind {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.kind()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ""
	}
	code, reasons, msg := httpFacts(err)
	if code != 0 {
		return httpKind(code, reasons, msg)
	}
	var ne net.Error
	var oe2 *net.OpError
	if errors.As(err, &oe2) || errors.As(err, &ne) {
		return providers.KindUnavailable
	}
	return ""
}

// httpFacts digs the HTTP status, the error reasons and the message out of
// an API error (googleapi.Error from the REST clients, or apierror.APIError).
func httpFacts(err error) (code int, reasons []string, msg string) {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		for _, it := range ge.Errors {
			reasons = append(reasons, it.Reason)
		}
		return ge.Code, reasons, ge.Message
	}
	var ae *apierror.APIError
	if errors.As(err, &ae) {
		if r := ae.Reason(); r != "" {
			reasons = append(reasons, r)
		}
		return ae.HTTPCode(), reasons, ae.Error()
	}
	return 0, nil, ""
}

// httpKind classifies a synchronous HTTP error.
func httpKind(code int, reasons []string, msg string) providers.ErrorKind {
	has := func(want ...string) bool {
		for _, r := range reasons {
			for _, w := range want {
				if strings.EqualFold(r, w) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case code == http.StatusTooManyRequests || has("rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"):
		return providers.KindThrottled
	case has("quotaExceeded", codeQuota) || strings.Contains(msg, codeQuota):
		return providers.KindQuota
	case has(codeZoneExhausted, codeZoneExhaustedDetails, "resourcePoolExhausted") || strings.Contains(msg, codeZoneExhausted):
		return providers.KindCapacity
	case code == http.StatusNotFound || has("notFound"):
		return providers.KindNotFound
	case code == http.StatusServiceUnavailable || code == http.StatusBadGateway || code == http.StatusGatewayTimeout:
		return providers.KindUnavailable
	}
	return ""
}

// alreadyExists reports whether err says a resource of the same name exists
// (409 on the call, or RESOURCE_ALREADY_EXISTS in its operation).
func alreadyExists(err error) bool {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.has(codeAlreadyExists) || oe.op.GetHttpErrorStatusCode() == http.StatusConflict
	}
	code, reasons, _ := httpFacts(err)
	for _, r := range reasons {
		if r == "alreadyExists" {
			return true
		}
	}
	return code == http.StatusConflict
}

// opError is a zonal operation that ended DONE with errors. The REST client's
// Wait does not return these: the provider checks every finished operation.
type opError struct {
	op *computepb.Operation
}

// operationError returns the operation's error, or nil when it succeeded.
func operationError(op *computepb.Operation) error {
	if len(op.GetError().GetErrors()) > 0 || op.GetHttpErrorStatusCode() >= 400 {
		return &opError{op: op}
	}
	return nil
}

// Error renders "operation NAME (TYPE) failed: CODE: message; ... (HTTP 503 SERVICE UNAVAILABLE)".
func (e *opError) Error() string {
	var parts []string
	for _, it := range e.op.GetError().GetErrors() {
		parts = append(parts, it.GetCode()+": "+it.GetMessage())
	}
	s := fmt.Sprintf("operation %s (%s) failed: %s", e.op.GetName(), e.op.GetOperationType(), strings.Join(parts, "; "))
	if c := e.op.GetHttpErrorStatusCode(); c != 0 {
		s += fmt.Sprintf(" (HTTP %d %s)", c, e.op.GetHttpErrorMessage())
	}
	return s
}

// has reports whether the operation failed with the code.
func (e *opError) has(code string) bool {
	for _, it := range e.op.GetError().GetErrors() {
		if it.GetCode() == code {
			return true
		}
	}
	return false
}

// kind classifies the operation's failure by its error codes, then by its HTTP status.
func (e *opError) kind() providers.ErrorKind {
	switch {
	case e.has(codeZoneExhausted) || e.has(codeZoneExhaustedDetails):
		return providers.KindCapacity
	case e.has(codeQuota):
		return providers.KindQuota
	case e.has(codeRateLimit) || e.op.GetHttpErrorStatusCode() == http.StatusTooManyRequests:
		return providers.KindThrottled
	case e.has(codeNotFound) || e.op.GetHttpErrorStatusCode() == http.StatusNotFound:
		return providers.KindNotFound
	case e.has(codeUnsupported):
		return providers.KindNotSupported
	}
	return ""
}
