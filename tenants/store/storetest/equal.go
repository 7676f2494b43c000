package storetest

import (
	"fmt"
	"reflect"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// diff compares got with want deeply and describes the first difference, or
// returns "" when they are equal. It differs from reflect.DeepEqual in two
// ways that no backend should be held to: time.Time values are compared with
// Equal (instant, not location or monotonic reading), and a nil slice or map
// equals an empty one.
func diff(got, want any) string {
	return diffValue("", reflect.ValueOf(got), reflect.ValueOf(want))
}

func diffValue(path string, g, w reflect.Value) string {
	if !g.IsValid() || !w.IsValid() {
		if g.IsValid() != w.IsValid() {
			return fmt.Sprintf("%s: got %v, want %v", pathOr(path), g, w)
		}
		return ""
	}
	if g.Type() != w.Type() {
		return fmt.Sprintf("%s: got type %s, want %s", pathOr(path), g.Type(), w.Type())
	}
	if g.Type() == timeType {
		gt, wt := g.Interface().(time.Time), w.Interface().(time.Time)
		if !gt.Equal(wt) {
			return fmt.Sprintf("%s: got %s, want %s", pathOr(path), gt.Format(time.RFC3339Nano), wt.Format(time.RFC3339Nano))
		}
		return ""
	}
	switch g.Kind() {
	case reflect.Pointer, reflect.Interface:
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				return fmt.Sprintf("%s: got %s, want %s", pathOr(path), nilOr(g), nilOr(w))
			}
			return ""
		}
		return diffValue(path, g.Elem(), w.Elem())
	case reflect.Struct:
		for i := range g.NumField() {
			if d := diffValue(path+"."+g.Type().Field(i).Name, g.Field(i), w.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if g.Len() != w.Len() {
			return fmt.Sprintf("%s: got %d elements, want %d (got %v, want %v)", pathOr(path), g.Len(), w.Len(), g, w)
		}
		for i := range g.Len() {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if g.Len() != w.Len() {
			return fmt.Sprintf("%s: got %d entries, want %d (got %v, want %v)", pathOr(path), g.Len(), w.Len(), g, w)
		}
		for _, k := range w.MapKeys() {
			gv := g.MapIndex(k)
			if !gv.IsValid() {
				return fmt.Sprintf("%s: key %v missing", pathOr(path), k)
			}
			if d := diffValue(fmt.Sprintf("%s[%v]", path, k), gv, w.MapIndex(k)); d != "" {
				return d
			}
		}
		return ""
	default:
		if !g.CanInterface() {
			return fmt.Sprintf("%s: unexported field of kind %s cannot be compared", pathOr(path), g.Kind())
		}
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			return fmt.Sprintf("%s: got %#v, want %#v", pathOr(path), g.Interface(), w.Interface())
		}
		return ""
	}
}

func pathOr(p string) string {
	if p == "" {
		return "value"
	}
	return p
}

func nilOr(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return "non-nil"
}
