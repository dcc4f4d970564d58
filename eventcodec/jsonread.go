package eventcodec

import (
	"encoding/json"
	"math/bits"
	"strconv"
	"time"
)

// jsonReader reads the JSON keyplane writes, without reflection, for the
// events that a replay folds by the million (event_decode.go). It accepts a
// strict subset: exact field names, each once, and no null where the Go
// value would be kept as it was. Anything else, and anything that is not
// valid JSON, makes it bad: the caller then decodes the same bytes with
// encoding/json, so the result is always exactly what encoding/json gives,
// only sooner on the common shape.
//
// Every value it steps over is validated as it goes, so a document it reads
// to the end without going bad is valid JSON.
type jsonReader struct {
	b   []byte
	i   int
	bad bool
	key []byte // the member name member() just read, without quotes

	// d, when set, holds values to hand out again (Decoder).
	d *Decoder
	// aggID is the event's aggregate id, which a payload often repeats.
	aggID string
	// payloads: decode an event's payload along with its envelope.
	payloads bool
}

func (r *jsonReader) fail() {
	r.bad = true
	r.i = len(r.b)
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek is the next byte after white space, 0 at the end.
func (r *jsonReader) peek() byte {
	if r.i < len(r.b) && r.b[r.i] > ' ' { // keyplane writes no white space
		return r.b[r.i]
	}
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

func (r *jsonReader) consume(c byte) bool {
	if r.peek() == c {
		r.i++
		return true
	}
	return false
}

// end reports whether only white space is left and nothing went bad.
func (r *jsonReader) end() bool {
	r.ws()
	return !r.bad && r.i == len(r.b)
}

// open consumes the '{' of an object; members are then read with member.
func (r *jsonReader) open() bool {
	if !r.consume('{') {
		r.fail()
		return false
	}
	return true
}

// member reads the name of the object's n-th member (from 0) and its ':',
// leaving the value to the caller; false at the object's '}'.
//
//	for n := 0; r.member(n); n++ { switch string(r.key) { ... } }
func (r *jsonReader) member(n int) bool {
	if !r.next(n, '}') {
		return false
	}
	tok, simple := r.strToken()
	if r.bad {
		return false
	}
	// An escaped name matches no field here (encoding/json decides what it
	// matches), but is fine in a value merely stepped over.
	r.key = nil
	if simple {
		r.key = tok[1 : len(tok)-1]
	}
	if !r.consume(':') {
		r.fail()
		return false
	}
	return true
}

// once marks field bit in seen, going bad if it was already there: with a
// repeated member encoding/json merges the two, which is its to decide.
func (r *jsonReader) once(seen *uint32, bit uint32) {
	if *seen&bit != 0 {
		r.fail()
	}
	*seen |= bit
}

// isNull consumes a null if one is next.
func (r *jsonReader) isNull() bool { return r.literal("null") }

// literal consumes lit (null, true or false) if it is next.
func (r *jsonReader) literal(lit string) bool {
	if r.peek() == lit[0] && len(r.b)-r.i >= len(lit) && string(r.b[r.i:r.i+len(lit)]) == lit {
		r.i += len(lit)
		return true
	}
	return false
}

// strToken reads a string and returns it with its quotes; simple means it
// has no escape and only ASCII, so its bytes between the quotes are its
// value.
func (r *jsonReader) strToken() (tok []byte, simple bool) {
	if r.peek() != '"' {
		r.fail()
		return nil, false
	}
	start := r.i
	// Most strings are plain ASCII up to their closing quote.
	i := plainRun(r.b, start+1)
	if i < len(r.b) && r.b[i] == '"' {
		r.i = i + 1
		return r.b[start:r.i], true
	}
	simple = true
	for ; i < len(r.b); i++ {
		c := r.b[i]
		switch {
		case c == '"':
			r.i = i + 1
			return r.b[start:r.i], simple
		case c == '\\':
			simple = false
			if i+1 >= len(r.b) {
				r.fail()
				return nil, false
			}
			i++
			switch r.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(r.b) || !isHex4(r.b[i+1:i+5]) {
					r.fail()
					return nil, false
				}
				i += 4
			default:
				r.fail()
				return nil, false
			}
		case c < 0x20:
			r.fail()
			return nil, false
		case c >= 0x80:
			simple = false
		}
	}
	r.fail()
	return nil, false
}

// plainRun returns the index of the first byte from i on that is not
// plainByte (len(b) if none), eight bytes at a time while it can.
func plainRun(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		// The compiler makes one load of this.
		w := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		q, bs := w^(ones*'"'), w^(ones*'\\')
		// A byte's high bit is set below when it is under 0x20, a quote,
		// a backslash, or not ASCII (the classic "has zero byte" tricks).
		if m := ((w-ones*0x20)&^w | (q-ones)&^q | (bs-ones)&^bs | w) & highs; m != 0 {
			// The lowest flag is exact (higher ones may be borrows).
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && plainByte[b[i]] {
		i++
	}
	return i
}

// plainByte is true for the bytes that stand for themselves in a string:
// printable ASCII but the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// str reads a string value.
func (r *jsonReader) str() string { return r.strOf(r.strToken()) }

// strOf is the value of what strToken just read. It inlines: a call here
// would cost every string of a replay.
func (r *jsonReader) strOf(tok []byte, simple bool) string {
	if simple {
		return string(tok[1 : len(tok)-1])
	}
	return r.unescape(tok)
}

// unescape leaves a string with escapes or non-ASCII text to
// encoding/json, which knows what to make of bad UTF-8 and lone
// surrogates.
func (r *jsonReader) unescape(tok []byte) string {
	if r.bad {
		return ""
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		r.fail()
	}
	return s
}

// known reads a string that is most often one of consts, and returns that
// constant instead of a new copy.
func (r *jsonReader) known(consts ...string) string {
	tok, simple := r.strToken()
	if simple {
		for _, c := range consts {
			if string(tok[1:len(tok)-1]) == c {
				return c
			}
		}
	}
	return r.strOf(tok, simple)
}

// interned reads a string that is most often a key of m, and returns m's
// value for it instead of a new copy.
func (r *jsonReader) interned(m map[string]string) string {
	tok, simple := r.strToken()
	if simple {
		if s, ok := m[string(tok[1:len(tok)-1])]; ok {
			return s
		}
	}
	return r.strOf(tok, simple)
}

// sharedStr reads a string that is likely to recur, and returns the copy
// of it that the Decoder holds, if any (adding it).
func (r *jsonReader) sharedStr() string {
	tok, simple := r.strToken()
	if !simple || r.d == nil {
		return r.strOf(tok, simple)
	}
	if s, ok := r.d.strs[string(tok[1:len(tok)-1])]; ok {
		return s
	}
	s := string(tok[1 : len(tok)-1])
	r.d.strs[s] = s
	return s
}

// metadata reads a key's metadata object. With a Decoder, an object spelt
// byte for byte as one read before is that one's map: keys of one
// application tend to carry the same metadata, and a map costs a few
// hundred bytes a key to hold. The maps are never changed once decoded
// (Key.Metadata), so sharing them is safe.
func (r *jsonReader) metadata() map[string]any {
	if r.d == nil {
		return r.anyObject(0)
	}
	start := r.i
	raw := r.raw()
	if r.bad {
		return nil
	}
	if m, ok := r.d.metas[string(raw)]; ok {
		return m
	}
	r.i = start
	m := r.anyObject(0)
	if !r.bad {
		r.d.metas[string(raw)] = m
	}
	return m
}

// aggIDOr reads a string, returned as r.aggID when equal to it.
func (r *jsonReader) aggIDOr() string {
	tok, simple := r.strToken()
	if simple && string(tok[1:len(tok)-1]) == r.aggID {
		return r.aggID
	}
	return r.strOf(tok, simple)
}

func (r *jsonReader) boolean() bool {
	switch {
	case r.literal("true"):
		return true
	case !r.literal("false"):
		r.fail()
	}
	return false
}

// integer reads a number without fraction or exponent that fits an int.
func (r *jsonReader) integer() int {
	tok, integral := r.number()
	if r.bad {
		return 0
	}
	n, err := strconv.ParseInt(string(tok), 10, strconv.IntSize)
	if !integral || err != nil {
		r.fail() // encoding/json refuses it for an int: its error, not ours
	}
	return int(n)
}

// number reads a number as JSON's grammar has it; integral when it has
// neither fraction nor exponent.
func (r *jsonReader) number() (tok []byte, integral bool) {
	r.ws()
	start, b := r.i, r.b
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		r.fail()
		return nil, false
	}
	integral = true
	if i < len(b) && b[i] == '.' {
		integral = false
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			r.fail()
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integral = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := digits(b, i); j > i {
			i = j
		} else {
			r.fail()
			return nil, false
		}
	}
	r.i = i
	return b[start:i], integral
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// timeValue reads a time as time.Time's UnmarshalJSON does (which is what
// encoding/json calls).
func (r *jsonReader) timeValue() time.Time {
	var t time.Time
	tok, _ := r.strToken()
	if r.bad || t.UnmarshalJSON(tok) != nil {
		r.fail()
	}
	return t
}

// raw steps over one value, validating it, and returns its bytes.
func (r *jsonReader) raw() []byte {
	r.ws()
	start := r.i
	r.skip(0)
	if r.bad {
		return nil
	}
	return r.b[start:r.i]
}

// maxDepth bounds nesting well below encoding/json's 10000: deeper values
// go to encoding/json, which then decides.
const maxDepth = 1000

func (r *jsonReader) skip(depth int) {
	if depth > maxDepth {
		r.fail()
		return
	}
	switch c := r.peek(); {
	case c == '{':
		r.i++
		for n := 0; r.member(n); n++ {
			r.skip(depth + 1)
		}
	case c == '[':
		r.i++
		for n := 0; r.next(n, ']'); n++ {
			r.skip(depth + 1)
		}
	case c == '"':
		r.strToken()
	case c == 't' || c == 'f':
		r.boolean()
	case c == 'n':
		if !r.isNull() {
			r.fail()
		}
	default:
		r.number()
	}
}

// next steps to the n-th member or element of the object or array whose
// opening was consumed, up to its name or value; false at its closing
// byte, or once r is bad.
func (r *jsonReader) next(n int, closing byte) bool {
	if r.bad || r.consume(closing) {
		return false
	}
	if n > 0 && !r.consume(',') {
		r.fail()
		return false
	}
	return true
}

// anyValue reads a value into what encoding/json makes of it in an any:
// map[string]any, []any, string, float64, bool or nil.
func (r *jsonReader) anyValue(depth int) any {
	if depth > maxDepth {
		r.fail()
		return nil
	}
	switch c := r.peek(); {
	case c == '{':
		return r.anyObject(depth)
	case c == '[':
		r.i++
		s := make([]any, 0)
		for n := 0; r.next(n, ']'); n++ {
			s = append(s, r.anyValue(depth+1))
		}
		return s
	case c == '"':
		return r.str()
	case c == 't' || c == 'f':
		return r.boolean()
	case c == 'n':
		if !r.isNull() {
			r.fail()
		}
		return nil
	}
	tok, _ := r.number()
	if r.bad {
		return nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		r.fail()
	}
	return f
}

// anyObject reads an object into a map[string]any; a repeated name keeps
// the last value, as encoding/json does for a map.
func (r *jsonReader) anyObject(depth int) map[string]any {
	if !r.open() {
		return nil
	}
	m := make(map[string]any)
	for n := 0; r.next(n, '}'); n++ {
		k := r.str()
		if !r.consume(':') {
			r.fail()
			return nil
		}
		m[k] = r.anyValue(depth + 1)
	}
	if r.bad {
		return nil
	}
	return m
}

// emptyObject consumes an empty object, {}, if one is next.
func (r *jsonReader) emptyObject() bool {
	save := r.i
	if r.consume('{') && r.consume('}') {
		return true
	}
	r.i = save
	return false
}

// into decodes the next value with encoding/json: for the parts of an
// event (role descriptors) that are rare or small enough not to matter. It
// returns the value rather than filling a field, so that the payload it
// belongs to does not escape to the heap through encoding/json.
func into[T any](r *jsonReader) T {
	var v T
	raw := r.raw()
	if r.bad || json.Unmarshal(raw, &v) != nil {
		r.fail()
	}
	return v
}
