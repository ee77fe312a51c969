package ec2

import (
	"context"
	"errors"
	"fmt"
	"net"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aws/smithy-go"

	"github.com/agentcloud/agentcloud/providers"
)

// ErrPermissionDenied is wrapped by every error EC2 answered with a permission
// or authentication failure (UnauthorizedOperation, AuthFailure, ...). It is
// deliberately not a typed providers.Error: every kind makes cloudmgr react in
// a way that is wrong here (not found would count a destroy as done, capacity
// would walk the offerings), so it takes the generic path (backoff, logged,
// counted with error_kind "unknown") with a message saying what to fix.
var ErrPermissionDenied = errors.New("permission denied by AWS: grant the IAM identity cloudmgr runs as the policy of docs/ec2.md " +
	"(images/ec2/iam-policy.json); decode an encoded authorization message with `aws sts decode-authorization-message`")

// codeClass groups EC2 error codes by what cloudmgr should do about them.
type codeClass int

const (
	codeOther codeClass = iota
	codeCapacity
	codeQuota
	codeThrottled
	codeNotFound
	codeNotSupported
	codeUnavailable
	codePermission
)

// errorCodes maps EC2's error codes to their class.
var errorCodes = map[string]codeClass{
	"InsufficientInstanceCapacity":         codeCapacity,
	"InsufficientHostCapacity":             codeCapacity,
	"InsufficientReservedInstanceCapacity": codeCapacity,
	"InsufficientCapacity":                 codeCapacity,
	"InsufficientFreeAddressesInSubnet":    codeCapacity,

	"InstanceLimitExceeded":        codeQuota,
	"VcpuLimitExceeded":            codeQuota,
	"MaxSpotInstanceCountExceeded": codeQuota,
	"VolumeLimitExceeded":          codeQuota,

	"RequestLimitExceeded":      codeThrottled,
	"Throttling":                codeThrottled,
	"ThrottlingException":       codeThrottled,
	"RequestThrottled":          codeThrottled,
	"RequestThrottledException": codeThrottled,

	"InvalidInstanceID.NotFound":                  codeNotFound,
	"InvalidInstanceID.Malformed":                 codeNotFound,
	"InvalidAMIID.NotFound":                       codeNotFound,
	"InvalidAMIID.Malformed":                      codeNotFound,
	"InvalidAMIID.Unavailable":                    codeNotFound,
	"InvalidLaunchTemplateName.NotFoundException": codeNotFound,
	"InvalidLaunchTemplateId.NotFound":            codeNotFound,
	"InvalidLaunchTemplateId.Malformed":           codeNotFound,
	"InvalidLaunchTemplateId.VersionNotFound":     codeNotFound,

	"UnsupportedHibernationConfiguration": codeNotSupported,
	"UnsupportedOperation":                codeNotSupported,

	"InternalError":      codeUnavailable,
	"InternalFailure":    codeUnavailable,
	"ServiceUnavailable": codeUnavailable,
	"Unavailable":        codeUnavailable,

	"UnauthorizedOperation": codePermission,
	"AuthFailure":           codePermission,
	"OptInRequired":         codePermission,
	"Blocked":               codePermission,
	"AccessDenied":          codePermission,
	"InvalidClientTokenId":  codePermission,
	"SignatureDoesNotMatch": codePermission,
}

// kindOfCode returns the class of an EC2 error code.
func kindOfCode(code string) codeClass { return errorCodes[code] }

// errorCode returns the EC2 error code in err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// classify turns an SDK error from op on id into a typed providers.Error where
// the code says what cloudmgr should do, or into a permission error; detail
// (may be "") is added to the message, e.g. the offering of a create.
func classify(op, id, detail string, err error) error {
	if err == nil {
		return nil
	}
	cause := err
	if detail != "" {
		cause = fmt.Errorf("%s: %w", detail, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", op, id, cause)
	}
	var kind providers.ErrorKind
	switch kindOfCode(errorCode(err)) {
	case codeCapacity:
		kind = providers.KindCapacity
	case codeQuota:
		kind = providers.KindQuota
	case codeThrottled:
		kind = providers.KindThrottled
	case codeNotFound:
		kind = providers.KindNotFound
	case codeNotSupported:
		kind = providers.KindNotSupported
	case codeUnavailable:
		kind = providers.KindUnavailable
	case codePermission:
		return fmt.Errorf("%s %s: %w: %w", op, id, ErrPermissionDenied, cause)
	default:
		if unreachable(err) {
			kind = providers.KindUnavailable
		}
	}
	if kind == "" {
		return fmt.Errorf("%s %s: %w", op, id, cause)
	}
	return providers.NewError(kind, op, id, cause)
}

// unreachable reports whether err is a failure to reach the endpoint at all.
func unreachable(err error) bool {
	var send *smithyhttp.RequestSendError
	var netErr net.Error
	return errors.As(err, &send) || errors.As(err, &netErr)
}
