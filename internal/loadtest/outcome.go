package loadtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// ErrorClass sorts a failed request by what went wrong.
type ErrorClass uint8

// The error classes. ClassNone marks success; ClassAborted marks a request
// cut short because the run stopped, which is not counted as a failure.
const (
	ClassNone ErrorClass = iota
	ClassAborted
	ClassTimeout
	ClassConnRefused
	ClassConnReset
	ClassDNS
	ClassTLS
	ClassNetwork
	Class4xx
	Class5xx
	ClassUnexpectedStatus
	ClassBadResponse
	numClasses
)

// String names the class as reports show it.
func (c ErrorClass) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassAborted:
		return "aborted"
	case ClassTimeout:
		return "timeout"
	case ClassConnRefused:
		return "connection-refused"
	case ClassConnReset:
		return "connection-reset"
	case ClassDNS:
		return "dns"
	case ClassTLS:
		return "tls"
	case ClassNetwork:
		return "network"
	case Class4xx:
		return "http-4xx"
	case Class5xx:
		return "http-5xx"
	case ClassUnexpectedStatus:
		return "unexpected-status"
	case ClassBadResponse:
		return "bad-response"
	}
	return "unknown"
}

// Outcome is what one request (or one iteration of a scenario) came to.
type Outcome struct {
	// Status is the HTTP status of the response, or 0 when none arrived.
	Status int
	// Class is ClassNone on success.
	Class ErrorClass
	// Err describes a transport or response-checking failure.
	Err error
	// Body is the response body, kept only when the caller asked for it.
	Body []byte
	// RetryAfter is the Retry-After header of a kept 503 response.
	RetryAfter string
	// Stage names the request of a multi-request iteration that failed
	// (such as "sign-in" in a login); it is empty for single requests.
	// Reports count failures by stage and class.
	Stage string
}

// Failed reports whether the outcome counts as a failed request.
func (o Outcome) Failed() bool { return o.Class != ClassNone && o.Class != ClassAborted }

// classifyStatus sorts an unexpected status code.
func classifyStatus(status int) ErrorClass {
	switch {
	case status >= 400 && status < 500:
		return Class4xx
	case status >= 500 && status < 600:
		return Class5xx
	}
	return ClassUnexpectedStatus
}

// classifyError sorts a transport error.
func classifyError(err error) ErrorClass {
	var (
		dnsErr     *net.DNSError
		netErr     net.Error
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		verifyErr  *tls.CertificateVerificationError
		recordErr  tls.RecordHeaderError
		alertErr   tls.AlertError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.Is(err, context.Canceled):
		return ClassAborted
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassConnRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassConnReset
	case errors.As(err, &dnsErr):
		return ClassDNS
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr),
		errors.As(err, &verifyErr), errors.As(err, &recordErr), errors.As(err, &alertErr):
		return ClassTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout
	}
	return ClassNetwork
}
