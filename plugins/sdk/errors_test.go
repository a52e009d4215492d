package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/curtainhq/curtain/core"
)

var sentinels = []error{
	core.ErrNotFound, core.ErrConflict, core.ErrReference, core.ErrUnavailable, core.ErrInvalid,
	context.DeadlineExceeded, context.Canceled,
}

func TestErrorRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code codes.Code
		is   []error // sentinels the decoded error must match; no others
		msg  string  // the text on the wire; "" means err.Error()
	}{
		{"not found", fmt.Errorf("get %q: %w", "k", core.ErrNotFound), codes.NotFound, []error{core.ErrNotFound}, ""},
		{"not found error", core.ErrURLNotFound, codes.NotFound, []error{core.ErrNotFound}, ""},
		{"conflict", fmt.Errorf("insert: %w", core.ErrConflict), codes.AlreadyExists, []error{core.ErrConflict}, ""},
		{"reference", core.ErrReference, codes.FailedPrecondition, []error{core.ErrReference}, ""},
		{"unavailable", fmt.Errorf("dial redis: %w", core.ErrUnavailable), codes.Unavailable, []error{core.ErrUnavailable}, ""},
		{"invalid", fmt.Errorf("size 0: %w", core.ErrInvalid), codes.InvalidArgument, []error{core.ErrInvalid}, ""},
		{"validation", &core.ValidationError{Field: "dir", Message: "dir is required"}, codes.InvalidArgument, []error{core.ErrInvalid}, ""},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), codes.DeadlineExceeded, []error{core.ErrUnavailable, context.DeadlineExceeded}, ""},
		{"canceled", context.Canceled, codes.Canceled, []error{core.ErrUnavailable, context.Canceled}, ""},
		{"other", errors.New("disk on fire"), codes.Internal, nil, ""},
		{"status kept", status.Error(codes.Unimplemented, "no such call"), codes.Unimplemented, nil, "no such call"},
		{"code the contract gives no meaning", status.Error(codes.DataLoss, "weird"), codes.DataLoss, nil, "weird"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.msg
			if msg == "" {
				msg = tt.err.Error()
			}
			wire := EncodeError(tt.err)
			st, ok := status.FromError(wire)
			if !ok {
				t.Fatalf("EncodeError(%v) = %v, not a status", tt.err, wire)
			}
			if st.Code() != tt.code {
				t.Errorf("EncodeError(%v) code = %s, want %s", tt.err, st.Code(), tt.code)
			}
			if st.Message() != msg {
				t.Errorf("EncodeError(%v) message = %q, want %q", tt.err, st.Message(), msg)
			}
			got := DecodeError(wire)
			text := msg
			if tt.is == nil && tt.code != codes.Internal {
				text += " (gRPC code " + tt.code.String() + ")"
			}
			if got.Error() != text {
				t.Errorf("DecodeError text = %q, want %q", got.Error(), text)
			}
			for _, s := range sentinels {
				want := false
				for _, w := range tt.is {
					want = want || w == s
				}
				if errors.Is(got, s) != want {
					t.Errorf("errors.Is(decoded, %v) = %v, want %v", s, !want, want)
				}
			}
			// The decoded error encodes back to the same code.
			if st2 := status.Convert(EncodeError(got)); st2.Code() != tt.code {
				t.Errorf("re-encoded code = %s, want %s", st2.Code(), tt.code)
			}
		})
	}
}

func TestValidationErrorKeepsField(t *testing.T) {
	err := InvalidSetting("addr", "must be host:port, got %q", "x")
	got := DecodeError(EncodeError(err))
	var ve *core.ValidationError
	if !errors.As(got, &ve) {
		t.Fatalf("DecodeError = %T %v, want *core.ValidationError", got, got)
	}
	want := `setting "addr": must be host:port, got "x"`
	if ve.Field != "addr" || ve.Message != want {
		t.Errorf("decoded = {%q, %q}, want {%q, %q}", ve.Field, ve.Message, "addr", want)
	}
}

func TestDecodeTransportFailure(t *testing.T) {
	got := DecodeError(io.EOF)
	if !errors.Is(got, core.ErrUnavailable) || !errors.Is(got, io.EOF) {
		t.Errorf("DecodeError(io.EOF) = %v, want core.ErrUnavailable wrapping io.EOF", got)
	}
	got = DecodeError(status.Error(codes.Unavailable, "connection refused"))
	if !errors.Is(got, core.ErrUnavailable) {
		t.Errorf("DecodeError(Unavailable) = %v, want core.ErrUnavailable", got)
	}
}

func TestNilErrors(t *testing.T) {
	if err := EncodeError(nil); err != nil {
		t.Errorf("EncodeError(nil) = %v", err)
	}
	if err := DecodeError(nil); err != nil {
		t.Errorf("DecodeError(nil) = %v", err)
	}
}
