package loadgen

import (
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/commbench/commbench/results"
)

// Classify says whether a result was accepted and, if not, why.
//
// A result with a status code is classified by it: 201 and 202 are
// accepted, 429, 503 and the other 5xx have their own classes, anything else
// (200 included: the reaction service never answers it) is "other".
// Code 0 means no response came; the class is read from the error text,
// which vegeta fills with the http.Client's err.Error() (the fasthttp
// client with the fasthttp error's): the client's
// timeout first (a timed-out dial or read also says "timeout"), then
// "connection refused", then the ways a connection dies mid-request.
func Classify(res *vegeta.Result) results.DropClass {
	switch c := res.Code; {
	case c == 201 || c == 202:
		return results.NotDropped
	case c == 429:
		return results.DropHTTP429
	case c == 503:
		return results.DropHTTP503
	case c >= 500 && c <= 599:
		return results.DropHTTP5xx
	case c != 0:
		return results.DropOther
	}
	e := res.Error
	switch {
	case e == "":
		return results.DropOther
	case strings.Contains(e, "Client.Timeout exceeded"),
		strings.Contains(e, "context deadline exceeded"),
		strings.Contains(e, "i/o timeout"),
		strings.Contains(e, "timeout awaiting response headers"),
		e == "fasthttp: timeout",                                          // fasthttp.ErrTimeout: DoDeadline's deadline passed
		strings.Contains(e, "dialing to the given tcp address timed out"): // fasthttp.ErrDialTimeout
		return results.DropTimeout
	case strings.Contains(e, "connection refused"):
		return results.DropRefused
	case strings.Contains(e, "connection reset"),
		strings.HasSuffix(e, "EOF"), // io.EOF and io.ErrUnexpectedEOF: closed before or while answering
		strings.Contains(e, "broken pipe"),
		strings.Contains(e, "server closed"), // "http: server closed idle connection"; fasthttp.ErrConnectionClosed
		strings.Contains(e, "transport connection broken"),
		strings.Contains(e, "use of closed network connection"):
		return results.DropReset
	}
	return results.DropOther
}
