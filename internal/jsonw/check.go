package jsonw

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

// Canonical is for the tests of types that encode themselves with jsonw:
// it rewrites the one difference between Go releases out of the JSON b, so
// that comparisons with encoding/json hold on either. Up to Go 1.26,
// encoding/json writes the replacement character it puts in place of
// invalid UTF-8 as the escape \ufffd (as AppendString does); Go 1.27's,
// built on encoding/json/v2, writes the character itself. Both are the same
// JSON string. Canonical replaces each \ufffd escape with the character,
// reading escapes pair by pair so that an escaped backslash followed by
// "ufffd" is left alone.
func Canonical(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			i++
			continue
		}
		if i+6 <= len(b) && b[i+1] == 'u' && strings.EqualFold(string(b[i+2:i+6]), "fffd") {
			out = utf8.AppendRune(out, utf8.RuneError)
			i += 6
			continue
		}
		out = append(out, b[i], b[i+1])
		i += 2
	}
	return out
}

// Uncovered is for the tests of types that encode themselves with jsonw.
// Given a fully populated value (a pointer to a struct), it lists what a
// hand-written encoder could silently miss: each field encoding/json would
// write that is zero in v (the test value must set it, so that comparing
// with encoding/json covers it), and each field type with a MarshalJSON or
// MarshalText method (which encoding/json calls and jsonw does not). It
// walks into nested structs, pointers and the first element of slices. An
// empty result means the comparison with encoding/json covers every field.
func Uncovered(v any) []string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	var out []string
	uncovered(rv, rv.Type().Name(), &out)
	return out
}

func uncovered(v reflect.Value, path string, out *[]string) {
	marshaler := reflect.TypeFor[json.Marshaler]()
	textMarshaler := reflect.TypeFor[encoding.TextMarshaler]()
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		if f.Tag.Get("json") == "-" || !f.IsExported() {
			continue
		}
		p := path + "." + f.Name
		if fv.IsZero() {
			*out = append(*out, p+" is not set in the test value: set it, and encode it in AppendJSON")
			continue
		}
		if f.Type == reflect.TypeFor[time.Time]() {
			continue // AppendTime writes what its MarshalJSON does
		}
		for _, ft := range []reflect.Type{f.Type, reflect.PointerTo(f.Type)} {
			if ft.Implements(marshaler) || ft.Implements(textMarshaler) {
				*out = append(*out, fmt.Sprintf("%s: %v has a MarshalJSON or MarshalText method that AppendJSON does not call", p, ft))
			}
		}
		switch fv.Kind() {
		case reflect.Pointer:
			fv = fv.Elem()
		case reflect.Slice:
			fv = fv.Index(0)
		}
		if fv.Kind() == reflect.Struct {
			uncovered(fv, p, out)
		}
	}
}
