package results

// DropClass is why a request was not accepted; the classes are the fields
// of [Drops].
type DropClass uint8

// Drop classes. NotDropped is an accepted request (201 or 202).
const (
	NotDropped  DropClass = iota
	DropTimeout           // the client's timeout: no answer in time; indeterminate
	DropRefused           // connection refused: nothing listens
	DropReset             // connection reset, closed or broken mid-request
	DropHTTP429           // rate limited
	DropHTTP503           // overloaded or unavailable
	DropHTTP5xx           // any other 5xx
	DropOther             // anything else: 1xx-4xx other than 201/202, unknown errors
)

var dropNames = [...]string{"accepted", "timeout", "refused", "reset", "http_429", "http_503", "http_5xx", "other"}

// String returns the class's name in results.json ("timeout", "http_503", …);
// "accepted" for NotDropped.
func (c DropClass) String() string {
	if int(c) < len(dropNames) {
		return dropNames[c]
	}
	return "other"
}

// Add counts one drop of class c in its class and in Total; NotDropped
// adds nothing.
func (d *Drops) Add(c DropClass) {
	switch c {
	case NotDropped:
		return
	case DropTimeout:
		d.Timeout++
	case DropRefused:
		d.Refused++
	case DropReset:
		d.Reset++
	case DropHTTP429:
		d.HTTP429++
	case DropHTTP503:
		d.HTTP503++
	case DropHTTP5xx:
		d.HTTP5xx++
	default:
		d.Other++
	}
	d.Total++
}

// Merge adds the counts of o to d.
func (d *Drops) Merge(o Drops) {
	d.Total += o.Total
	d.Timeout += o.Timeout
	d.Refused += o.Refused
	d.Reset += o.Reset
	d.HTTP429 += o.HTTP429
	d.HTTP503 += o.HTTP503
	d.HTTP5xx += o.HTTP5xx
	d.Other += o.Other
}

// ByClass returns the counts keyed by class name, as in results.json's
// per-second series.
func (d Drops) ByClass() map[string]int64 {
	return map[string]int64{
		"timeout": d.Timeout, "refused": d.Refused, "reset": d.Reset,
		"http_429": d.HTTP429, "http_503": d.HTTP503, "http_5xx": d.HTTP5xx, "other": d.Other,
	}
}
