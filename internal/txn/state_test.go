package txn

import (
	"reflect"
	"testing"
	"unsafe"

	"dhproxy/internal/sample"
)

// TestResetClearsEveryField: Reset resets State field by field, so a field
// added to State and forgotten there would outlive its transaction. Every
// field is filled, then Reset must leave each zero but the buffers it
// keeps (empty, same capacity) and the variables (none set).
func TestResetClearsEveryField(t *testing.T) {
	var st State
	fillAll(reflect.ValueOf(&st).Elem())
	var v sample.Value
	v.SetStr([]byte("x"))
	for i := range st.Vars {
		st.Vars[i].Set(0, &v)
	}
	st.Reset()
	kept := map[string]bool{"Work.Scratch": true, "Work.Buf": true, "UID": true, "Reply": true}
	var check func(v reflect.Value, path string)
	check = func(v reflect.Value, path string) {
		switch {
		case path == "Vars":
			for i := range st.Vars {
				if !st.Vars[i].Empty() {
					t.Errorf("Vars[%d] still holds a variable after Reset", i)
				}
			}
		case kept[path]:
			if v.Len() != 0 || v.Cap() != 4 {
				t.Errorf("%s: len %d cap %d after Reset, want 0 and the capacity kept (4)", path, v.Len(), v.Cap())
			}
		case v.Kind() == reflect.Struct && !v.IsZero():
			for i := range v.NumField() {
				check(v.Field(i), joinPath(path, v.Type().Field(i).Name))
			}
		case !v.IsZero():
			t.Errorf("%s outlives Reset: add it to State.Reset", path)
		}
	}
	check(reflect.ValueOf(&st).Elem(), "")
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// fillAll gives every field of v, exported or not, a value other than zero.
func fillAll(v reflect.Value) {
	if !v.CanSet() {
		v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			fillAll(v.Index(i))
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 4))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(1)
	case reflect.String:
		v.SetString("x")
	}
}
