package gce

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/googleapi"
	"google.golang.org/protobuf/proto"

	"github.com/agentcloud/agentcloud/providers"
)

func TestKindOf(t *testing.T) {
	apiErr := func(code int, reason, msg string) error {
		return fmt.Errorf("calling: %w", &googleapi.Error{Code: code, Message: msg, Errors: []googleapi.ErrorItem{{Reason: reason, Message: msg}}})
	}
	op := func(code string, http int32) error {
		o := &computepb.Operation{Name: proto.String("operation-1"), OperationType: proto.String("insert"),
			Error: &computepb.Error{Errors: []*computepb.Errors{{Code: proto.String(code), Message: proto.String("msg")}}}}
		if http != 0 {
			o.HttpErrorStatusCode = proto.Int32(http)
		}
		return fmt.Errorf("waiting: %w", operationError(o))
	}
	tests := []struct {
		name string
		err  error
		want providers.ErrorKind
	}{
		{"429", apiErr(429, "rateLimitExceeded", "Rate Limit Exceeded"), providers.KindThrottled},
		{"403 rate limit", apiErr(403, "rateLimitExceeded", "Rate Limit Exceeded"), providers.KindThrottled},
		{"403 user rate limit", apiErr(403, "userRateLimitExceeded", "x"), providers.KindThrottled},
		{"403 quota", apiErr(403, "quotaExceeded", "Quota 'CPUS' exceeded"), providers.KindQuota},
		{"403 permission", apiErr(403, "forbidden", "Required 'compute.instances.create' permission"), ""},
		{"404", apiErr(404, "notFound", "The resource was not found"), providers.KindNotFound},
		{"409", apiErr(409, "alreadyExists", "exists"), ""},
		{"503", apiErr(503, "backendError", "unavailable"), providers.KindUnavailable},
		{"op stockout", op("ZONE_RESOURCE_POOL_EXHAUSTED", 503), providers.KindCapacity},
		{"op stockout details", op("ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS", 0), providers.KindCapacity},
		{"op quota", op("QUOTA_EXCEEDED", 403), providers.KindQuota},
		{"op not found", op("RESOURCE_NOT_FOUND", 404), providers.KindNotFound},
		{"op 429", op("SOMETHING", 429), providers.KindThrottled},
		{"op unsupported", op("UNSUPPORTED_OPERATION", 400), providers.KindNotSupported},
		{"op other", op("INTERNAL_ERROR", 0), ""},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, providers.KindUnavailable},
		{"deadline", context.DeadlineExceeded, ""},
		{"plain", errors.New("boom"), ""},
	}
	for _, tc := range tests {
		if got := kindOf(tc.err); got != tc.want {
			t.Errorf("%s: kindOf(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestOperationErrorOnlyWhenFailed(t *testing.T) {
	done := &computepb.Operation{Status: computepb.Operation_DONE.Enum()}
	if err := operationError(done); err != nil {
		t.Errorf("a clean DONE operation has error %v", err)
	}
	onlyHTTP := &computepb.Operation{Status: computepb.Operation_DONE.Enum(), HttpErrorStatusCode: proto.Int32(500), HttpErrorMessage: proto.String("INTERNAL SERVER ERROR")}
	if err := operationError(onlyHTTP); err == nil {
		t.Error("an operation with httpErrorStatusCode 500 and no errors passes")
	}
	if !alreadyExists(operationError(&computepb.Operation{Error: &computepb.Error{Errors: []*computepb.Errors{{Code: proto.String("RESOURCE_ALREADY_EXISTS")}}}})) {
		t.Error("RESOURCE_ALREADY_EXISTS is not recognised")
	}
	if !alreadyExists(&googleapi.Error{Code: 409, Errors: []googleapi.ErrorItem{{Reason: "alreadyExists"}}}) {
		t.Error("409 alreadyExists is not recognised")
	}
}
