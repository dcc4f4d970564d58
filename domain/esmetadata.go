package domain

import (
	"encoding/json"
	"sort"
	"strconv"
)

// MetadataLeaf is one value of a key's metadata as Elasticsearch's
// flattened field indexes it: the dotted path of its key and its text. A
// query on "metadata.env.tier" matches the leaves of path "env.tier",
// whether the metadata nests {"env": {"tier": ...}} or names "env.tier".
type MetadataLeaf struct {
	Path  string `json:"p"`
	Value string `json:"v"`
}

// FlattenMetadata lists the leaves of metadata (lists give one leaf per
// scalar), sorted by path then value. intern, if set, maps each path to a
// shared copy, so that many keys' leaves point at one string.
func FlattenMetadata(m map[string]any, intern func(string) string) []MetadataLeaf {
	var out []MetadataLeaf
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(child, p)
			}
		case []any:
			for _, child := range x {
				walk(child, path)
			}
		default:
			if s, ok := MetadataKeyword(v); ok && path != "" {
				if intern != nil {
					path = intern(path)
				}
				out = append(out, MetadataLeaf{Path: path, Value: s})
			}
		}
	}
	walk(map[string]any(m), "")
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// MetadataKeyword is the text Elasticsearch indexes for a JSON scalar:
// strings as they are, numbers and booleans as their text.
func MetadataKeyword(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}
