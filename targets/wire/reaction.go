package wire

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Reaction is one user's reaction to a post. ID is unique within a run and
// is what the ledger reconciles on; SentAt is the load generator's send time
// in Unix nanoseconds, from which time-to-notify is measured.
type Reaction struct {
	ID     uint64 `json:"id"`
	User   string `json:"user"`
	Post   string `json:"post"`
	Author string `json:"author"`
	Kind   string `json:"kind"`
	SentAt int64  `json:"sent_at"`
}

// FieldError says which field of a reaction is missing or invalid.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Reason) }

// ErrMalformed is returned by Decode when the body is not a JSON object.
var ErrMalformed = errors.New("body is not a JSON reaction object")

// Decode parses and validates a reaction body. The error is a *FieldError
// naming the first bad field, or wraps ErrMalformed.
func Decode(body []byte, r *Reaction) error {
	*r = Reaction{}
	if err := json.Unmarshal(body, r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &FieldError{Field: te.Field, Reason: "must be a " + te.Type.String()}
		}
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return r.Validate()
}

// Validate reports the first missing or invalid field.
func (r *Reaction) Validate() error {
	switch {
	case r.ID == 0:
		return &FieldError{"id", "missing or zero; ids start at 1"}
	case r.User == "":
		return &FieldError{"user", "missing or empty"}
	case r.Post == "":
		return &FieldError{"post", "missing or empty"}
	case r.Author == "":
		return &FieldError{"author", "missing or empty"}
	case r.Kind == "":
		return &FieldError{"kind", "missing or empty"}
	case r.SentAt <= 0:
		return &FieldError{"sent_at", "missing or not a positive Unix time in nanoseconds"}
	}
	return nil
}

// Append appends the reaction's JSON encoding to b.
func (r *Reaction) Append(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendUint(b, r.ID)
	b = append(b, `,"user":`...)
	b = appendString(b, r.User)
	b = append(b, `,"post":`...)
	b = appendString(b, r.Post)
	b = append(b, `,"author":`...)
	b = appendString(b, r.Author)
	b = append(b, `,"kind":`...)
	b = appendString(b, r.Kind)
	b = append(b, `,"sent_at":`...)
	if r.SentAt < 0 {
		b = append(b, '-')
		b = appendUint(b, uint64(-r.SentAt))
	} else {
		b = appendUint(b, uint64(r.SentAt))
	}
	return append(b, '}')
}

func appendUint(b []byte, v uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

// appendString quotes s as a JSON string; it escapes what JSON requires.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
