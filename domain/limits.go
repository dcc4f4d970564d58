package domain

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Input limits (issue 20). Each is checked before any other work on the
// input it bounds, and each refusal names its limit. The README's "Limits"
// table lists them; change both together.
const (
	// MaxBodyBytes is the largest request body; a larger one is answered
	// 413 content_too_long_exception, as Elasticsearch does.
	MaxBodyBytes = 1 << 20
	// MaxBodyDepth bounds the nesting of any request body as a whole, so
	// that no decoder recurses deeper. Queries nest deepest (32 levels of
	// bool, three JSON levels each).
	MaxBodyDepth = 128
	// MaxMetadataDepth bounds the nesting of metadata (of keys, role
	// descriptors, realm users and application privileges), the metadata
	// object itself being the first level: Elasticsearch indexes key
	// metadata as a flattened field, whose default depth limit is 20.
	MaxMetadataDepth = 20
	// MaxDescriptorDepth bounds the nesting below a role descriptor: its
	// metadata object is the first level below it.
	MaxDescriptorDepth = 20

	// MaxNameBytes bounds key, organization, project and role names.
	MaxNameBytes = 256
	// MaxIndexNameBytes bounds index names and patterns (Elasticsearch's
	// index names are at most 255 bytes).
	MaxIndexNameBytes = 255
	// MaxAppNameBytes bounds application names and application privilege
	// names.
	MaxAppNameBytes = 255
	// MaxEntryBytes bounds each resource, run_as entry, cluster or index
	// privilege, and application privilege action.
	MaxEntryBytes = 1024
	// MaxDescriptors bounds the role descriptors of one key or document.
	MaxDescriptors = 64
	// MaxDescriptorEntries bounds the index and the application entries of
	// one descriptor (each).
	MaxDescriptorEntries = 64
	// MaxListEntries bounds each list of names, privileges, resources,
	// run_as or cluster entries.
	MaxListEntries = 256
	// MaxRevokeByFilter is how many keys one cleanup by filter revokes at
	// most (POST .../api-keys/_bulk_delete with a filter); MaxPreviewIDs
	// how many of their ids its dry run shows.
	MaxRevokeByFilter = 10000
	MaxPreviewIDs     = 1000
	// MaxQueryValueBytes bounds a wildcard, prefix or term value of
	// _query/api_key.
	MaxQueryValueBytes = 1024
	// MaxHasPrivilegesEntries bounds each list of a _has_privileges
	// request (indices, applications, privileges, resources).
	MaxHasPrivilegesEntries = 256
	// MaxHasPrivilegesChecks bounds what a _has_privileges request asks in
	// all: its cluster privileges, plus index names times their
	// privileges, plus resources times their privileges. Each list alone
	// is bounded above, but not their product, which is the work (and
	// the size of the answer).
	MaxHasPrivilegesChecks = 4096
	// MaxQueryClauses bounds the queries a _query/api_key request
	// compiles (Elasticsearch's max_clause_count, smaller: every clause is
	// evaluated against every key of the project).
	MaxQueryClauses = 128
	// MaxFilterPaths bounds the paths of a filter_path, and
	// MaxFilterPathBytes each path: the filter's work is the answer's size
	// times its paths.
	MaxFilterPaths     = 64
	MaxFilterPathBytes = 256
)

// depthLimit says which limit bounds a JSON value's nesting.
type depthLimit uint8

const (
	limitBody depthLimit = iota
	limitMetadata
	limitDescriptor
)

func (l depthLimit) levels() int {
	switch l {
	case limitMetadata:
		return MaxMetadataDepth
	case limitDescriptor:
		return MaxDescriptorDepth + 1 // the descriptor, and the levels below it
	}
	return MaxBodyDepth
}

func (l depthLimit) refusal() error {
	switch l {
	case limitMetadata:
		return Invalid("[metadata] nests deeper than the limit of %d levels", MaxMetadataDepth)
	case limitDescriptor:
		return Invalid("a role descriptor nests deeper than the limit of %d levels below the descriptor", MaxDescriptorDepth)
	}
	return Invalid("the request body nests deeper than the limit of %d levels", MaxBodyDepth)
}

// CheckBodyDepth refuses a request body that nests deeper than
// MaxBodyDepth, whose metadata (any member named metadata or
// transient_metadata) nests deeper than MaxMetadataDepth, or whose role
// descriptors (the members of role_descriptors) nest deeper than
// MaxDescriptorDepth below the descriptor. It reads the raw bytes once,
// without recursion and without decoding them, so that it runs before any
// decoder does: encoding/json recurses up to 10,000 levels. Invalid JSON is
// left for the decoder to refuse.
func CheckBodyDepth(raw []byte) error { return checkDepth(raw, limitBody, false) }

// CheckDescriptorDepth is CheckBodyDepth for one role descriptor (a
// realm role's body).
func CheckDescriptorDepth(raw []byte) error { return checkDepth(raw, limitDescriptor, false) }

// checkDescriptorsDepth is CheckBodyDepth for an object of named role
// descriptors.
func checkDescriptorsDepth(raw []byte) error { return checkDepth(raw, limitDescriptor, true) }

// depthFrame is an open object or array.
type depthFrame struct {
	left    int        // levels its members may still open, themselves included
	why     depthLimit // the limit that set left
	obj     bool
	descs   bool // an object of named role descriptors
	wantKey bool // in an object, the next string is a member name
	key     memberKind
}

// memberKind is what a member's name makes of its value.
type memberKind uint8

const (
	memberOther memberKind = iota
	memberMetadata
	memberDescriptors
)

func checkDepth(raw []byte, root depthLimit, rootDescs bool) error {
	stack := make([]depthFrame, 0, 16)
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '{', '[':
			left, why := root.levels(), root
			if rootDescs {
				left++ // the object that names them
			}
			descs := rootDescs && len(stack) == 0
			if n := len(stack); n > 0 {
				p := &stack[n-1]
				left, why = p.left, p.why
				if p.obj && p.key == memberMetadata && MaxMetadataDepth <= left {
					left, why = MaxMetadataDepth, limitMetadata
				}
				if p.descs && limitDescriptor.levels() < left {
					left, why = limitDescriptor.levels(), limitDescriptor
				}
				descs = p.obj && p.key == memberDescriptors
			}
			if left < 1 {
				return why.refusal()
			}
			stack = append(stack, depthFrame{left: left - 1, why: why, obj: c == '{', descs: descs, wantKey: c == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].obj {
				stack[n-1].wantKey, stack[n-1].key = true, memberOther
			}
		case '"':
			end := stringEnd(raw, i)
			if n := len(stack); n > 0 && stack[n-1].wantKey {
				stack[n-1].wantKey, stack[n-1].key = false, kindOfMember(raw[i:end])
			}
			i = end - 1
		}
	}
	return nil
}

// stringEnd is the index just past the string that opens at raw[i].
func stringEnd(raw []byte, i int) int {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(raw)
}

// kindOfMember reads a member name as encoding/json matches it to a field:
// escapes decoded, case folded.
func kindOfMember(tok []byte) memberKind {
	if len(tok) < 2 || tok[len(tok)-1] != '"' {
		return memberOther // unterminated: the decoder refuses it
	}
	name := string(tok[1 : len(tok)-1])
	if strings.IndexByte(name, '\\') >= 0 {
		if json.Unmarshal(tok, &name) != nil {
			return memberOther
		}
	}
	switch {
	case strings.EqualFold(name, "metadata"), strings.EqualFold(name, "transient_metadata"):
		return memberMetadata
	case strings.EqualFold(name, "role_descriptors"):
		return memberDescriptors
	}
	return memberOther
}

// metadataWithin reports whether v, a decoded metadata value at level
// depth, nests at most MaxMetadataDepth levels. It stops at the limit, so
// its recursion is bounded whatever v holds.
func metadataWithin(v any, depth int) bool {
	switch x := v.(type) {
	case map[string]any:
		if depth > MaxMetadataDepth {
			return false
		}
		for _, c := range x {
			if !metadataWithin(c, depth+1) {
				return false
			}
		}
	case []any:
		if depth > MaxMetadataDepth {
			return false
		}
		for _, c := range x {
			if !metadataWithin(c, depth+1) {
				return false
			}
		}
	}
	return true
}

// ValidName reports whether s is an acceptable display name for an
// organization, project, member, key or role: 1 to MaxNameBytes bytes of
// valid UTF-8, no leading or trailing space, and none of the characters
// that render as nothing or as something else: control characters (Cc,
// C1 included), format characters (Cf: bidi overrides, zero-width
// characters) and line or paragraph separators.
func ValidName(s string) bool {
	if s == "" || len(s) > MaxNameBytes || strings.TrimSpace(s) != s || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return false
		}
	}
	return true
}

// NameKey is what names are compared by where they must be unique
// (organizations, projects): their NFKC normalization, so that a name
// written with compatibility characters (fullwidth letters, ligatures,
// superscripts) cannot pass for an existing one.
func NameKey(s string) string { return norm.NFKC.String(s) }

// SameName reports whether names a and b are the same for uniqueness.
func SameName(a, b string) bool { return a == b || NameKey(a) == NameKey(b) }

// checkLimits bounds what a role descriptor lists: its index and
// application entries, each list, and each name, pattern or privilege.
func (rd RoleDescriptor) checkLimits(name string) error {
	if len(rd.Indices) > MaxDescriptorEntries {
		return Invalid("role [%s] has %d index entries, over the limit of %d", name, len(rd.Indices), MaxDescriptorEntries)
	}
	if len(rd.Applications) > MaxDescriptorEntries {
		return Invalid("role [%s] has %d application entries, over the limit of %d", name, len(rd.Applications), MaxDescriptorEntries)
	}
	if err := checkList(name, "cluster", rd.Cluster, MaxEntryBytes); err != nil {
		return err
	}
	if err := checkList(name, "run_as", rd.RunAs, MaxEntryBytes); err != nil {
		return err
	}
	for _, ip := range rd.Indices {
		if err := checkList(name, "indices.names", ip.Names, MaxIndexNameBytes); err != nil {
			return err
		}
		if err := checkList(name, "indices.privileges", ip.Privileges, MaxEntryBytes); err != nil {
			return err
		}
	}
	for _, ap := range rd.Applications {
		if len(ap.Application) > MaxAppNameBytes {
			return Invalid("role [%s]: an application name is %d bytes, over the limit of %d", name, len(ap.Application), MaxAppNameBytes)
		}
		if err := checkList(name, "applications.privileges", ap.Privileges, MaxEntryBytes); err != nil {
			return err
		}
		if err := checkList(name, "applications.resources", ap.Resources, MaxEntryBytes); err != nil {
			return err
		}
	}
	return nil
}

// checkList bounds one list of role: its length, and each entry's bytes.
func checkList(role, field string, l []string, maxBytes int) error {
	if len(l) > MaxListEntries {
		return Invalid("role [%s]: [%s] lists %d entries, over the limit of %d", role, field, len(l), MaxListEntries)
	}
	for _, s := range l {
		if len(s) > maxBytes {
			return Invalid("role [%s]: an entry of [%s] is %d bytes, over the limit of %d", role, field, len(s), maxBytes)
		}
	}
	return nil
}

// OrgNameClaimID is the aggregate id of the claim that keeps an
// organization name unique: its NameKey in hex, so that two names the same
// after NFKC normalization contend for one subject. (A name already NFKC,
// as ASCII names are, keeps the subject it always had.)
func OrgNameClaimID(name string) string { return UserAggID(NameKey(name)) }
