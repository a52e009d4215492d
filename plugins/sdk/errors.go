package sdk

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/curtainhq/curtain/core"
)

// EncodeError turns an error returned by a plugin implementation into a
// gRPC status error, so that the host can decode it back to the same core
// sentinel. The plugin side of the SDK calls it on every error; plugin
// authors only need it when they write their own gRPC services.
//
//   - *core.ValidationError: InvalidArgument, with a google.rpc.BadRequest
//     detail naming the field.
//   - core.ErrInvalid: InvalidArgument.
//   - core.ErrNotFound: NotFound.
//   - core.ErrConflict: AlreadyExists.
//   - core.ErrReference: FailedPrecondition.
//   - core.ErrUnavailable: Unavailable.
//   - context.DeadlineExceeded, context.Canceled: DeadlineExceeded, Canceled.
//   - an error that already carries a gRPC status: that status.
//   - anything else: Internal with the error's text.
//
// A nil error stays nil.
func EncodeError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var ve *core.ValidationError
	if errors.As(err, &ve) {
		st := status.New(codes.InvalidArgument, msg)
		if withDetail, derr := st.WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: ve.Field, Description: ve.Message}},
		}); derr == nil {
			st = withDetail
		}
		return st.Err()
	}
	code := codes.Internal
	switch {
	case errors.Is(err, core.ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, core.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, core.ErrConflict):
		code = codes.AlreadyExists
	case errors.Is(err, core.ErrReference):
		code = codes.FailedPrecondition
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, core.ErrUnavailable):
		code = codes.Unavailable
	default:
		if st, ok := status.FromError(err); ok {
			return st.Err()
		}
	}
	return status.Error(code, msg)
}

// DecodeError turns an error returned by a gRPC call to a plugin back into
// an error the host can test with errors.Is against the core sentinels.
// The result's text is the plugin's message; it also carries the gRPC
// status (status.FromError still works on it).
//
//   - InvalidArgument: matches core.ErrInvalid; with a BadRequest detail it
//     is a *core.ValidationError naming the field.
//   - NotFound, AlreadyExists, FailedPrecondition: core.ErrNotFound,
//     core.ErrConflict, core.ErrReference.
//   - Unavailable, and any error that is not a gRPC status (the plugin
//     process died, the connection was refused or closed): core.ErrUnavailable.
//   - DeadlineExceeded and Canceled: core.ErrUnavailable and also
//     context.DeadlineExceeded or context.Canceled.
//   - anything else: an error with the plugin's message and no sentinel.
//
// A nil error stays nil.
func DecodeError(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return &RemoteError{
			Code:     codes.Unavailable,
			Message:  fmt.Sprintf("plugin unreachable: %v", err),
			sentinel: []error{core.ErrUnavailable, err},
		}
	}
	re := &RemoteError{Code: st.Code(), Message: st.Message()}
	switch st.Code() {
	case codes.InvalidArgument:
		for _, d := range st.Details() {
			br, ok := d.(*errdetails.BadRequest)
			if !ok || len(br.GetFieldViolations()) == 0 {
				continue
			}
			fv := br.GetFieldViolations()[0]
			return &core.ValidationError{Field: fv.GetField(), Message: fv.GetDescription()}
		}
		re.sentinel = []error{core.ErrInvalid}
	case codes.NotFound:
		re.sentinel = []error{core.ErrNotFound}
	case codes.AlreadyExists:
		re.sentinel = []error{core.ErrConflict}
	case codes.FailedPrecondition:
		re.sentinel = []error{core.ErrReference}
	case codes.Unavailable:
		re.sentinel = []error{core.ErrUnavailable}
	case codes.DeadlineExceeded:
		re.sentinel = []error{core.ErrUnavailable, context.DeadlineExceeded}
	case codes.Canceled:
		re.sentinel = []error{core.ErrUnavailable, context.Canceled}
	}
	return re
}

// RemoteError is an error a plugin call returned, decoded by DecodeError.
// errors.Is matches it against the core sentinel its code stands for.
type RemoteError struct {
	// Code is the gRPC status code of the failure.
	Code codes.Code
	// Message is the plugin's error text.
	Message string

	sentinel []error
}

// Error is the plugin's message. A code the contract gives no meaning
// (anything but the codes DecodeError maps, Internal and Unknown) is
// named too, so that a plugin answering, say, DATA_LOSS where the
// .proto asks for UNAVAILABLE is told apart in logs and in
// `curtain plugin check`.
func (e *RemoteError) Error() string {
	switch {
	case len(e.sentinel) > 0, e.Code == codes.Internal, e.Code == codes.Unknown:
		return e.Message
	}
	return fmt.Sprintf("%s (gRPC code %s)", e.Message, e.Code)
}

// Unwrap returns the sentinels the error matches.
func (e *RemoteError) Unwrap() []error { return e.sentinel }

// GRPCStatus returns the error as a gRPC status, so that a RemoteError
// passed on through another gRPC service keeps its code.
func (e *RemoteError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// InvalidSetting returns the error a Configurer returns for a bad setting:
// a *core.ValidationError naming key, which reaches the host as
// InvalidArgument with the key in the message and in a BadRequest detail.
func InvalidSetting(key, format string, args ...any) error {
	return &core.ValidationError{
		Field:   key,
		Message: fmt.Sprintf("setting %q: %s", key, fmt.Sprintf(format, args...)),
	}
}
