package keepalived

import (
	"reflect"

	"dhproxy/internal/config"
)

var posType = reflect.TypeFor[config.Pos]()

// SameSettings reports whether two configuration values (blocks, lines,
// whole configurations) say the same thing, ignoring where in the file they
// were written: moving a block is not a change.
func SameSettings(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() {
		return va.IsValid() == vb.IsValid()
	}
	if va.Type() != vb.Type() {
		return false
	}
	return sameSettings(va, vb)
}

func sameSettings(a, b reflect.Value) bool {
	if a.Type() == posType {
		return true
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameSettings(a.Elem(), b.Elem())
	case reflect.Struct:
		if !hasPos(a.Type()) && a.Comparable() {
			return a.Equal(b)
		}
		for i := range a.NumField() {
			if !sameSettings(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameSettings(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for it := a.MapRange(); it.Next(); {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !sameSettings(it.Value(), bv) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}

// hasPos reports whether t holds a config.Pos that comparison must skip.
func hasPos(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		if t == posType {
			return true
		}
		for i := range t.NumField() {
			if hasPos(t.Field(i).Type) {
				return true
			}
		}
	case reflect.Array:
		return hasPos(t.Elem())
	}
	return false
}
