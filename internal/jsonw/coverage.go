package jsonw

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

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
