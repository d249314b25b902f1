package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		have      string
		wantField string // "" for a valid body
		wantErr   error
	}{
		{"valid", `{"id":1,"user":"u","post":"p","author":"a","kind":"like","sent_at":5}`, "", nil},
		{"missing id", `{"user":"u","post":"p","author":"a","kind":"like","sent_at":5}`, "id", nil},
		{"empty author", `{"id":1,"user":"u","post":"p","author":"","kind":"like","sent_at":5}`, "author", nil},
		{"missing sent_at", `{"id":1,"user":"u","post":"p","author":"a","kind":"like"}`, "sent_at", nil},
		{"id of the wrong type", `{"id":"x","user":"u","post":"p","author":"a","kind":"like","sent_at":5}`, "id", nil},
		{"negative id", `{"id":-1,"user":"u","post":"p","author":"a","kind":"like","sent_at":5}`, "id", nil},
		{"not json", `{"id":1,`, "", ErrMalformed},
		{"an array", `[1,2]`, "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Reaction
			err := Decode([]byte(tt.have), &r)
			var fe *FieldError
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got %v, want %v", err, tt.wantErr)
				}
			case tt.wantField != "":
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Errorf("got %v, want an error naming field %q", err, tt.wantField)
				}
			case err != nil:
				t.Errorf("got %v, want nil", err)
			}
		})
	}
}

func TestAppendRoundTrip(t *testing.T) {
	have := Reaction{ID: 18446744073709551615, User: "u\"1\\\n", Post: "p", Author: "a\x01", Kind: "like", SentAt: 1700000000123456789}
	b := have.Append(nil)
	if !json.Valid(b) {
		t.Fatalf("not valid JSON: %s", b)
	}
	var got Reaction
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got != have {
		t.Errorf("got %+v, want %+v", got, have)
	}
	if !strings.HasPrefix(string(b), `{"id":18446744073709551615,`) {
		t.Errorf("got %s", b)
	}
}

func BenchmarkDecode(b *testing.B) {
	body := []byte(`{"id":123456,"user":"user-1","post":"post-9","author":"author-3","kind":"like","sent_at":1700000000123456789}`)
	var r Reaction
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	r := Reaction{ID: 123456, User: "user-1", Post: "post-9", Author: "author-3", Kind: "like", SentAt: 1700000000123456789}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.Append(buf[:0])
	}
}

func ExampleDecode() {
	var r Reaction
	err := Decode([]byte(`{"id":7,"user":"u","post":"p","author":"","kind":"like","sent_at":1}`), &r)
	fmt.Println(err)
	// Output: field "author": missing or empty
}
