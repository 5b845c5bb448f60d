// Package jsonw appends JSON byte for byte as encoding/json writes it, for
// records written on hot paths (the IKE audit record, once per handshake)
// where the reflection encoder shows in CPU profiles.
//
// A type encodes itself by calling the methods of Object in the order of its
// struct fields, with each field's tag name, because that is the order
// encoding/json writes them in. The output matches json.Marshal with its
// defaults: HTML-safe string escaping, time.Time as MarshalJSON formats it,
// nil slices as null. Types that use jsonw test their output against
// encoding/json's, through Canonical: Go 1.27's encoding/json writes the
// replacement character for invalid UTF-8 unescaped where Go 1.26's (and
// AppendString) write \ufffd, the same JSON either way.
package jsonw

import (
	"fmt"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// htmlSafe[c] reports whether encoding/json writes the ASCII byte c as it
// is. By default it escapes <, > and & too, so that JSON embedded in HTML
// cannot close a script element; DEL (0x7f) is written as it is.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := byte(' '); c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s as a JSON string, escaped as encoding/json escapes
// it: ", \ and the control characters (\b \f \n \r \t by name, the others
// as \u00XX), <, > and & as \u003c \u003e \u0026, U+2028 and U+2029 as
// \u2028 and \u2029 (JavaScript line terminators), and each byte of invalid
// UTF-8 as \ufffd.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is still to be copied
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendStrings appends ss as a JSON array of strings; a nil slice is null.
func AppendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// AppendTime appends t as time.Time.MarshalJSON does: a string in RFC 3339
// with as many digits of nanoseconds as needed, in t's own zone. Like
// MarshalJSON it fails, returning b unchanged, for a year outside 0 to 9999
// or a zone offset of 24 hours or more, which RFC 3339 cannot express.
func AppendTime(b []byte, t time.Time) ([]byte, error) {
	out, err := t.AppendText(append(b, '"'))
	if err != nil {
		return b, fmt.Errorf("jsonw: %w", err)
	}
	return append(out, '"'), nil
}

// Appender is a value that appends its own JSON encoding.
type Appender interface {
	// AppendJSON appends the JSON encoding of the value to b. Where
	// encoding/json would fail to encode the value, it returns b unchanged.
	AppendJSON(b []byte) []byte
}

// Object appends one JSON object, a member per method call. Keys are
// written as given, so they must need no escaping (struct tag names don't).
// Methods named OmitEmpty and OmitZero skip the member where encoding/json
// does for the tag option of that name.
//
// As encoding/json does, an Object that meets a value it cannot encode
// produces nothing: End then returns the buffer as it was before Begin.
type Object struct {
	b      []byte
	start  int  // len(b) before the object, to undo it on failure
	more   bool // a member is written, so the next one needs a comma
	failed bool
}

// BeginObject starts an object at the end of b.
func BeginObject(b []byte) Object {
	return Object{b: append(b, '{'), start: len(b)}
}

// End closes the object and returns the buffer, or the buffer as it was
// before BeginObject if a member could not be encoded.
func (o *Object) End() []byte {
	if o.failed {
		return o.b[:o.start]
	}
	return append(o.b, '}')
}

func (o *Object) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	}
	o.more = true
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

// String appends a string member.
func (o *Object) String(key, v string) {
	o.key(key)
	o.b = AppendString(o.b, v)
}

// StringOmitEmpty appends a string member unless v is empty.
func (o *Object) StringOmitEmpty(key, v string) {
	if v != "" {
		o.String(key, v)
	}
}

// Bool appends a boolean member.
func (o *Object) Bool(key string, v bool) {
	o.key(key)
	if v {
		o.b = append(o.b, "true"...)
	} else {
		o.b = append(o.b, "false"...)
	}
}

// BoolOmitEmpty appends a boolean member unless v is false.
func (o *Object) BoolOmitEmpty(key string, v bool) {
	if v {
		o.Bool(key, v)
	}
}

// Strings appends a member that is an array of strings, null if v is nil.
func (o *Object) Strings(key string, v []string) {
	o.key(key)
	o.b = AppendStrings(o.b, v)
}

// StringsOmitEmpty appends an array of strings unless v has no elements
// (nil or not).
func (o *Object) StringsOmitEmpty(key string, v []string) {
	if len(v) > 0 {
		o.Strings(key, v)
	}
}

// Time appends a time.Time member; see AppendTime.
func (o *Object) Time(key string, t time.Time) {
	o.key(key)
	var err error
	if o.b, err = AppendTime(o.b, t); err != nil {
		o.failed = true
	}
}

// TimeOmitZero appends a time.Time member unless t.IsZero(), which is what
// omitzero tests (omitempty never omits a struct).
func (o *Object) TimeOmitZero(key string, t time.Time) {
	if !t.IsZero() {
		o.Time(key, t)
	}
}

// Value appends a member encoded by v. A nil pointer must be handled by the
// caller: omitted for omitempty, else v's AppendJSON writes null.
func (o *Object) Value(key string, v Appender) {
	o.key(key)
	n := len(o.b)
	if o.b = v.AppendJSON(o.b); len(o.b) == n {
		o.failed = true
	}
}

// Array appends a member that is an array of values, null if v is nil.
func Array[E Appender](o *Object, key string, v []E) {
	o.key(key)
	var ok bool
	if o.b, ok = AppendArray(o.b, v); !ok {
		o.failed = true
	}
}

// AppendArray appends v as a JSON array, null if v is nil. It reports
// false if an element appended nothing (could not be encoded).
func AppendArray[E Appender](b []byte, v []E) ([]byte, bool) {
	if v == nil {
		return append(b, "null"...), true
	}
	ok := true
	b = append(b, '[')
	for i := range v {
		if i > 0 {
			b = append(b, ',')
		}
		n := len(b)
		if b = v[i].AppendJSON(b); len(b) == n {
			ok = false
		}
	}
	return append(b, ']'), ok
}

// Raw appends a member whose value is already encoded: JSON that one of
// this package's functions wrote earlier and the caller kept, because the
// value repeats from record to record. An empty v fails the object.
func (o *Object) Raw(key string, v []byte) {
	o.key(key)
	if len(v) == 0 {
		o.failed = true
		return
	}
	o.b = append(o.b, v...)
}

// ArrayOmitEmpty appends an array of values unless v has no elements.
func ArrayOmitEmpty[E Appender](o *Object, key string, v []E) {
	if len(v) > 0 {
		Array(o, key, v)
	}
}
