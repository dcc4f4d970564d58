package es

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// filter_path, as Elasticsearch reads it: comma-separated dotted paths of
// key patterns, '*' (and '?') within a key, "**" for one level or more.
// Arrays are transparent. A value is kept whole when the keys leading to
// it match a whole path; a map or array is kept with what is kept of its
// children, and dropped when nothing of them is.
//
// The document is walked once, carrying the set of path positions the keys
// so far have reached (an NFA's states): each value is visited once and
// each key tried once against each state, so the work is at most the
// document's size times the paths' segments, however many "**" they hold.
// The earlier recursion tried every way a "**" could split the keys,
// exponential in the document's depth.

// fpState is a position in one path: the next key must match segment seg
// of path; after a "**" (seg-1), the key may also be taken by it.
type fpState struct{ path, seg int32 }

type pathFilter struct {
	ctx   context.Context
	paths [][]string
	base  []int32  // id of a path's first state, for dedup
	mark  []uint32 // mark[id] == stamp: the state is in the set being built
	stamp uint32
	steps int  // states tried and values visited: the walk's work
	gone  bool // the client went away: the walk stops
}

// checkEvery is how many steps pass between looks at the request context.
const checkEvery = 1024

// filterPath keeps the parts of v named by paths. It works on the JSON form
// of v, and stops (answering nothing) when ctx ends.
func filterPath(ctx context.Context, v any, paths []string) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var doc any
	_ = json.Unmarshal(raw, &doc)
	kept, _ := newPathFilter(ctx, paths).run(doc)
	return kept
}

func newPathFilter(ctx context.Context, paths []string) *pathFilter {
	f := &pathFilter{ctx: ctx}
	seen := map[string]bool{}
	n := int32(0)
	for _, p := range paths {
		if p = strings.TrimSpace(p); p != "" && !seen[p] {
			seen[p] = true
			segs := strings.Split(p, ".")
			f.paths = append(f.paths, segs)
			f.base = append(f.base, n)
			n += int32(len(segs))
		}
	}
	f.mark = make([]uint32, n)
	return f
}

// run filters doc, an empty object when nothing is kept; it also reports
// the steps taken.
func (f *pathFilter) run(doc any) (any, int) {
	start := make([]fpState, len(f.paths))
	for i := range f.paths {
		start[i] = fpState{path: int32(i)}
	}
	kept := f.walk(doc, start)
	if kept == nil || f.gone {
		kept = map[string]any{}
	}
	return kept, f.steps
}

// tick counts a step and reports whether the walk goes on.
func (f *pathFilter) tick() bool {
	if f.gone {
		return false
	}
	if f.steps++; f.steps%checkEvery == 0 && f.ctx.Err() != nil {
		f.gone = true
	}
	return !f.gone
}

// walk returns what is kept of v, reached in states (none of them at a
// path's end), or nil.
func (f *pathFilter) walk(v any, states []fpState) any {
	if !f.tick() {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		var next []fpState // reused for every key: walk does not keep it
		for k, child := range x {
			var whole bool
			if next, whole = f.step(next[:0], states, k); whole {
				out[k] = child
			} else if len(next) > 0 {
				if got := f.walk(child, next); got != nil {
					out[k] = got
				}
			}
			if f.gone {
				return nil
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, child := range x {
			if got := f.walk(child, states); got != nil {
				out = append(out, got)
			} else if f.gone {
				return nil
			}
		}
		if out == nil {
			return nil // not a nil []any in an interface: that would be kept as null
		}
		return out
	}
	return nil
}

// step appends to next the states key k leads to from states; whole says k
// completes a path, so its value is kept whole.
func (f *pathFilter) step(next, states []fpState, k string) ([]fpState, bool) {
	if f.stamp++; f.stamp == 0 { // wrapped: old marks would read as current
		clear(f.mark)
		f.stamp = 1
	}
	add := func(s fpState) {
		if id := f.base[s.path] + s.seg; f.mark[id] != f.stamp {
			f.mark[id] = f.stamp
			next = append(next, s)
		}
	}
	for _, s := range states {
		if !f.tick() {
			return nil, false
		}
		path := f.paths[s.path]
		if s.seg > 0 && path[s.seg-1] == "**" {
			add(s)
		}
		if seg := path[s.seg]; seg == "**" || domain.MatchWildcard(seg, k) {
			if int(s.seg)+1 == len(path) {
				return next, true
			}
			add(fpState{s.path, s.seg + 1})
		}
	}
	return next, false
}
