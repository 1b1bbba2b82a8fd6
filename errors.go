package ferry

import (
	"errors"
	"fmt"
)

// Code classifies an Error.
type Code string

// Error codes. The control-plane APIs map them to HTTP statuses (404, 409,
// 400, 503, 501, 500) and their clients map the statuses back.
const (
	NotFound      Code = "not_found"
	AlreadyExists Code = "already_exists"
	Invalid       Code = "invalid"
	Unavailable   Code = "unavailable"
	NotSupported  Code = "not_supported"
	Internal      Code = "internal"
)

// Error is an error with a Code and a message that says what is wrong and
// how to fix it.
type Error struct {
	Code Code
	// Message is the whole text of the error, the cause's included.
	Message string
	// Err is the underlying cause, if any, for errors.Is and errors.As.
	Err error
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted message. A %w verb
// wraps the cause as with fmt.Errorf.
func Errorf(code Code, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// ErrorCode returns the Code of the first *Error in err's chain, Internal
// for other non-nil errors, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// IsNotFound reports whether err has code NotFound.
func IsNotFound(err error) bool { return ErrorCode(err) == NotFound }
