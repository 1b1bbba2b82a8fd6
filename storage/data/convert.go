package data

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Value returns element i of arr as a Go value: nil for a null; int64 for
// signed and uint64 for unsigned integers; float64 for floats and decimals
// with a scale (int64 for a decimal of scale 0 that fits); string; bool;
// time.Time (UTC) for timestamps and dates; []byte for binary; the
// element's text for other types.
func Value(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return uint64(a.Value(i))
	case *array.Uint16:
		return uint64(a.Value(i))
	case *array.Uint32:
		return uint64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	case *array.Float16:
		return float64(a.Value(i).Float32())
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return strings.Clone(a.Value(i))
	case *array.LargeString:
		return strings.Clone(a.Value(i))
	case *array.StringView:
		return strings.Clone(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...)
	case *array.LargeBinary:
		return append([]byte(nil), a.Value(i)...)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC()
	case *array.Date32:
		return a.Value(i).ToTime().UTC()
	case *array.Date64:
		return a.Value(i).ToTime().UTC()
	case *array.Decimal128:
		dt := a.DataType().(*arrow.Decimal128Type)
		v := a.Value(i)
		if dt.Scale == 0 {
			b := v.BigInt()
			if b.IsInt64() {
				return b.Int64()
			}
		}
		f, _ := new(big.Float).SetInt(v.BigInt()).Float64()
		return f / math.Pow10(int(dt.Scale))
	case *array.Decimal64:
		dt := a.DataType().(*arrow.Decimal64Type)
		if dt.Scale == 0 {
			return int64(a.Value(i))
		}
		return float64(a.Value(i)) / math.Pow10(int(dt.Scale))
	case *array.Decimal32:
		dt := a.DataType().(*arrow.Decimal32Type)
		if dt.Scale == 0 {
			return int64(a.Value(i))
		}
		return float64(a.Value(i)) / math.Pow10(int(dt.Scale))
	case *array.Dictionary:
		return Value(a.Dictionary(), a.GetValueIndex(i))
	}
	return arr.ValueStr(i)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case nil:
		return math.NaN(), true
	}
	return 0, false
}

var timeType = reflect.TypeOf(time.Time{})

// field is a struct field mapped to a column.
type field struct {
	index []int
	name  string
}

// structFields returns the exported fields of struct type st with their
// column names: the `data:"name"` tag, else the field name; `data:"-"`
// skips a field.
func structFields(st reflect.Type) []field {
	var out []field
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("data"); ok {
			tag, _, _ = strings.Cut(tag, ",")
			if tag == "-" {
				continue
			}
			if tag != "" {
				name = tag
			}
		}
		out = append(out, field{index: f.Index, name: name})
	}
	return out
}

// arrowType returns the Arrow type of a Go field type (pointers are
// nullable).
func arrowType(t reflect.Type) (arrow.DataType, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return arrow.FixedWidthTypes.Boolean, nil
	case reflect.Int8:
		return arrow.PrimitiveTypes.Int8, nil
	case reflect.Int16:
		return arrow.PrimitiveTypes.Int16, nil
	case reflect.Int32:
		return arrow.PrimitiveTypes.Int32, nil
	case reflect.Int, reflect.Int64:
		return arrow.PrimitiveTypes.Int64, nil
	case reflect.Uint8:
		return arrow.PrimitiveTypes.Uint8, nil
	case reflect.Uint16:
		return arrow.PrimitiveTypes.Uint16, nil
	case reflect.Uint32:
		return arrow.PrimitiveTypes.Uint32, nil
	case reflect.Uint, reflect.Uint64:
		return arrow.PrimitiveTypes.Uint64, nil
	case reflect.Float32:
		return arrow.PrimitiveTypes.Float32, nil
	case reflect.Float64:
		return arrow.PrimitiveTypes.Float64, nil
	case reflect.String:
		return arrow.BinaryTypes.String, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return arrow.BinaryTypes.Binary, nil
		}
	}
	return nil, fmt.Errorf("unsupported field type %s (use numbers, strings, bools, time.Time, []byte or pointers to them)", t)
}

// FromStructs builds a Table from a slice of structs (or of pointers to
// structs). Each exported field is a column named by its `data:"name"` tag
// or its name; pointer fields are nullable, and a nil element is a row of
// nulls. The table lives in Go memory until a query needs it.
func FromStructs(slice any) (*Table, error) {
	v := reflect.ValueOf(slice)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Slice {
		v = v.Elem()
	}
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return nil, fmt.Errorf("data: FromStructs takes a slice of structs, not %T", slice)
	}
	et := v.Type().Elem()
	ptr := et.Kind() == reflect.Pointer
	if ptr {
		et = et.Elem()
	}
	if et.Kind() != reflect.Struct {
		return nil, fmt.Errorf("data: FromStructs takes a slice of structs, not %T", slice)
	}
	fields := structFields(et)
	if len(fields) == 0 {
		return nil, fmt.Errorf("data: FromStructs: %s has no exported fields", et)
	}
	afs := make([]arrow.Field, len(fields))
	for i, f := range fields {
		ft := et.FieldByIndex(f.index).Type
		at, err := arrowType(ft)
		if err != nil {
			return nil, fmt.Errorf("data: FromStructs: field %s: %w", f.name, err)
		}
		afs[i] = arrow.Field{Name: f.name, Type: at, Nullable: true}
	}
	schema := arrow.NewSchema(afs, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	n := v.Len()
	for i := range fields {
		b.Field(i).Reserve(n)
	}
	for r := 0; r < n; r++ {
		ev := v.Index(r)
		if ptr {
			if ev.IsNil() {
				for i := range fields {
					b.Field(i).AppendNull()
				}
				continue
			}
			ev = ev.Elem()
		}
		for i, f := range fields {
			appendValue(b.Field(i), ev.FieldByIndex(f.index))
		}
	}
	rec := b.NewRecordBatch()
	return &Table{schema: schema, recs: []arrow.RecordBatch{rec}, nrows: int64(n), complete: true}, nil
}

func appendValue(b array.Builder, v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			b.AppendNull()
			return
		}
		v = v.Elem()
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(v.Bool())
	case *array.Int8Builder:
		bb.Append(int8(v.Int()))
	case *array.Int16Builder:
		bb.Append(int16(v.Int()))
	case *array.Int32Builder:
		bb.Append(int32(v.Int()))
	case *array.Int64Builder:
		bb.Append(v.Int())
	case *array.Uint8Builder:
		bb.Append(uint8(v.Uint()))
	case *array.Uint16Builder:
		bb.Append(uint16(v.Uint()))
	case *array.Uint32Builder:
		bb.Append(uint32(v.Uint()))
	case *array.Uint64Builder:
		bb.Append(v.Uint())
	case *array.Float32Builder:
		bb.Append(float32(v.Float()))
	case *array.Float64Builder:
		bb.Append(v.Float())
	case *array.StringBuilder:
		bb.Append(v.String())
	case *array.BinaryBuilder:
		bb.Append(v.Bytes())
	case *array.TimestampBuilder:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			bb.AppendNull()
			return
		}
		bb.Append(arrow.Timestamp(t.UnixMicro()))
	default:
		b.AppendNull()
	}
}

// FromRecords builds a Table from Arrow record batches of one schema
// (retained; release them as usual).
func FromRecords(recs ...arrow.RecordBatch) (*Table, error) {
	if len(recs) == 0 {
		return nil, fmt.Errorf("data: FromRecords needs at least one record batch")
	}
	t := &Table{schema: recs[0].Schema(), complete: true}
	for i, r := range recs {
		if !r.Schema().Equal(t.schema) {
			return nil, fmt.Errorf("data: FromRecords: batch %d has schema %s, batch 0 has %s", i, r.Schema(), t.schema)
		}
		r.Retain()
		t.recs = append(t.recs, r)
		t.nrows += r.NumRows()
	}
	return t, nil
}

// FromArrow builds a Table from an arrow.Table.
func FromArrow(at arrow.Table) (*Table, error) {
	tr := array.NewTableReader(at, 0)
	defer tr.Release()
	t := &Table{schema: at.Schema(), complete: true}
	for tr.Next() {
		r := tr.RecordBatch()
		r.Retain()
		t.recs = append(t.recs, r)
		t.nrows += r.NumRows()
	}
	return t, tr.Err()
}

// ToStructs fills dst, a pointer to a slice of structs (or of pointers to
// structs), with the table's rows. A column goes to the field named by its
// `data:"name"` tag, else to the field whose name matches ignoring case and
// underscores; columns without a field are skipped. Numbers convert between
// widths (an overflow is an error); a null leaves a field's zero value (a
// nil pointer for pointer fields).
func (t *Table) ToStructs(dst any) error {
	dv := reflect.ValueOf(dst)
	if dv.Kind() != reflect.Pointer || dv.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("data: ToStructs needs a pointer to a slice of structs, not %T", dst)
	}
	sv := dv.Elem()
	et := sv.Type().Elem()
	ptr := et.Kind() == reflect.Pointer
	if ptr {
		et = et.Elem()
	}
	if et.Kind() != reflect.Struct {
		return fmt.Errorf("data: ToStructs needs a pointer to a slice of structs, not %T", dst)
	}
	byName := map[string][]int{}
	for _, f := range structFields(et) {
		byName[f.name] = f.index
		byName[fold(f.name)] = f.index
	}
	cols := make([][]int, t.NumCols())
	matched := 0
	for j, f := range t.schema.Fields() {
		if idx, ok := byName[f.Name]; ok {
			cols[j] = idx
		} else if idx, ok := byName[fold(f.Name)]; ok {
			cols[j] = idx
		}
		if cols[j] != nil {
			matched++
		}
	}
	if matched == 0 {
		return fmt.Errorf("data: ToStructs: no field of %s matches a column (columns: %s)", et, strings.Join(t.ColumnNames(), ", "))
	}
	recs, err := t.Records()
	if err != nil {
		return err
	}
	out := reflect.MakeSlice(sv.Type(), 0, int(t.nrows))
	row := 0
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			ev := reflect.New(et).Elem()
			for j, idx := range cols {
				if idx == nil {
					continue
				}
				if err := setField(ev.FieldByIndex(idx), Value(rec.Column(j), i)); err != nil {
					return fmt.Errorf("data: ToStructs: row %d, column %s: %w", row, t.schema.Field(j).Name, err)
				}
			}
			if ptr {
				ev = ev.Addr()
			}
			out = reflect.Append(out, ev)
			row++
		}
	}
	sv.Set(out)
	return nil
}

func fold(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// setField stores a value from Value into f.
func setField(f reflect.Value, v any) error {
	if v == nil {
		return nil
	}
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		if err := setField(p.Elem(), v); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	if f.Kind() == reflect.Interface {
		f.Set(reflect.ValueOf(v))
		return nil
	}
	rv := reflect.ValueOf(v)
	switch f.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case uint64:
			if x > math.MaxInt64 {
				return fmt.Errorf("%d overflows %s", x, f.Type())
			}
			n = int64(x)
		case float64:
			if x != math.Trunc(x) {
				return fmt.Errorf("%v is not an integer (use a float field)", x)
			}
			n = int64(x)
		default:
			return fmt.Errorf("cannot store %T in %s", v, f.Type())
		}
		if f.OverflowInt(n) {
			return fmt.Errorf("%d overflows %s", n, f.Type())
		}
		f.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var n uint64
		switch x := v.(type) {
		case uint64:
			n = x
		case int64:
			if x < 0 {
				return fmt.Errorf("%d is negative for %s", x, f.Type())
			}
			n = uint64(x)
		default:
			return fmt.Errorf("cannot store %T in %s", v, f.Type())
		}
		if f.OverflowUint(n) {
			return fmt.Errorf("%d overflows %s", n, f.Type())
		}
		f.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		x, ok := toFloat(v)
		if !ok {
			return fmt.Errorf("cannot store %T in %s", v, f.Type())
		}
		f.SetFloat(x)
		return nil
	case reflect.String:
		if s, ok := v.(string); ok {
			f.SetString(s)
			return nil
		}
		f.SetString(fmt.Sprint(v))
		return nil
	}
	if rv.Type().AssignableTo(f.Type()) {
		f.Set(rv)
		return nil
	}
	if rv.Type().ConvertibleTo(f.Type()) {
		f.Set(rv.Convert(f.Type()))
		return nil
	}
	return fmt.Errorf("cannot store %T in %s", v, f.Type())
}
