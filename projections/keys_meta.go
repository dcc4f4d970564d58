package projections

import (
	"encoding/binary"
	"math"
	"slices"
)

// metaEncoder writes metadata in the compact encoding of (*writer).any,
// byte for byte (TestMetadataEncodesAsSnapshotsEncodeIt), in one pass
// that also checks the value is plain JSON (plainJSON), and without
// allocating once warm: a fold encodes the metadata of every key created.
type metaEncoder struct {
	buf  []byte
	syms []string // object keys by number, as writer.sym numbers them
	keys []string // scratch for an object's sorted keys
}

// encode encodes m; ok is false when m holds more than plain JSON.
func (e *metaEncoder) encode(m map[string]any) (b []byte, ok bool) {
	e.buf, e.syms = e.buf[:0], e.syms[:0]
	ok = e.value(m)
	return e.buf, ok
}

func (e *metaEncoder) value(v any) bool {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, anyNull)
	case bool:
		if x {
			e.buf = append(e.buf, anyTrue)
		} else {
			e.buf = append(e.buf, anyFalse)
		}
	case float64:
		e.buf = append(e.buf, anyNumber)
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(x))
	case string:
		e.buf = append(e.buf, anyString)
		e.str(x)
	case []any:
		e.buf = append(e.buf, anyArray)
		e.buf = binary.AppendUvarint(e.buf, uint64(len(x)))
		for _, el := range x {
			if !e.value(el) {
				return false
			}
		}
	case map[string]any:
		return e.object(x)
	default:
		return false
	}
	return true
}

func (e *metaEncoder) object(m map[string]any) bool {
	e.buf = append(e.buf, anyObject)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(m)))
	start := len(e.keys)
	for k := range m {
		e.keys = append(e.keys, k)
	}
	keys := e.keys[start:]
	slices.Sort(keys)
	for i := range keys {
		k := e.keys[start+i] // (e.keys may grow under a nested object)
		e.sym(k)
		if !e.value(m[k]) {
			e.keys = e.keys[:start]
			return false
		}
	}
	e.keys = e.keys[:start]
	return true
}

func (e *metaEncoder) str(s string) {
	e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// sym is (*writer).sym: a name's first time in full, after by number.
// Metadata has few names, so a list beats a map.
func (e *metaEncoder) sym(s string) {
	if i := slices.Index(e.syms, s); i >= 0 {
		e.buf = binary.AppendUvarint(e.buf, uint64(i+1))
		return
	}
	e.syms = append(e.syms, s)
	e.buf = append(e.buf, 0)
	e.str(s)
}
