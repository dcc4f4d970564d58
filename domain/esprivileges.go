package domain

import (
	"sort"
	"strings"
)

// The one privilege evaluator: what a Permission grants, as Elasticsearch's
// _has_privileges answers it and as every request is authorized
// (Principal.Authorize asks Allows). The requested index names, resources
// and action patterns may hold wildcards: a request is granted when
// everything it could name is granted, which globCovers decides. A
// concrete action is the pattern that names only itself.

// globCovers reports whether every string matched by pattern r is also
// matched by pattern g ('*' any run, '?' one character). It is exact for
// the patterns role descriptors use: g's '*' may absorb anything of r,
// r's '*' only g's '*', r's '?' g's '?' or '*'.
//
// That is glob matching of r's bytes with a '?' of g that does not match a
// '*' of r, which glob does in linear time and space.
func globCovers(g, r string) bool { return g == "*" || g == r || glob(g, r, true) }

func anyCovers(gs []string, r string) bool {
	for _, g := range gs {
		if globCovers(g, r) {
			return true
		}
	}
	return false
}

// overlaps is a safe approximation of "some string matches both". When b
// has no wildcards (a concrete action, as every request's Allows asks)
// that is exactly match(a, b), which grantCovers asks directly.
func overlaps(a, b string) bool {
	return globCovers(a, b) || globCovers(b, a) || match(a, b) || match(b, a)
}

func wild(s string) bool { return strings.IndexByte(s, '*') >= 0 || strings.IndexByte(s, '?') >= 0 }

// clusterGrant is what one cluster privilege name grants.
func clusterGrant(name string) (clusterPrivilege, bool) {
	if cp, ok := clusterPrivileges[name]; ok {
		return cp, true
	}
	if strings.HasPrefix(name, "cluster:") {
		return clusterPrivilege{actions: []string{name}}, true
	}
	return clusterPrivilege{}, false
}

// grantCovers reports whether granted privilege g includes requested r.
func grantCovers(g, r *clusterPrivilege) bool {
	if g.own && !r.own {
		return false
	}
	for _, a := range r.actions {
		// Exclusions first: they settle most refusals at once.
		concrete := !wild(a)
		for _, ex := range g.excludes {
			hit := concrete && match(ex, a) || !concrete && overlaps(ex, a)
			if hit && !anyCovers(r.excludes, ex) {
				return false
			}
		}
		if !anyCovers(g.actions, a) {
			return false
		}
	}
	return true
}

// grants reports whether the cluster privilege name (or "cluster:" action
// pattern) a descriptor holds includes requested r.
func grants(name string, r *clusterPrivilege) bool {
	if cp, ok := clusterPrivileges[name]; ok {
		return grantCovers(&cp, r)
	}
	return strings.HasPrefix(name, "cluster:") && grantCovers(&clusterPrivilege{actions: []string{name}}, r)
}

// ClusterPrivilegeKnown reports whether a requested cluster privilege is a
// name keyplane knows or an action pattern.
func ClusterPrivilegeKnown(priv string) bool { _, ok := clusterGrant(priv); return ok }

// Allows reports whether every set of the permission grants the cluster
// action. own says whether the target is the caller's own API key, which
// manage_own_api_key requires.
func (p Permission) Allows(action string, own bool) bool {
	return p.hasCluster(clusterPrivilege{actions: []string{action}, own: own})
}

// HasCluster reports whether every set of the permission grants the
// cluster privilege (a name or a "cluster:" action pattern) as a whole.
func (p Permission) HasCluster(priv string) bool {
	req, ok := clusterGrant(priv)
	return ok && p.hasCluster(req)
}

func (p Permission) hasCluster(req clusterPrivilege) bool {
	if len(p) == 0 {
		return false
	}
	for _, set := range p {
		if !set.hasCluster(req) {
			return false
		}
	}
	return true
}

func (s RoleDescriptors) hasCluster(req clusterPrivilege) bool {
	if len(req.actions) == 1 { // an action (Allows), most privileges
		return s.grantsCluster(&req)
	}
	// A request of several actions may be covered by several grants.
	for _, a := range req.actions {
		one := clusterPrivilege{actions: []string{a}, excludes: req.excludes, own: req.own}
		if !s.grantsCluster(&one) {
			return false
		}
	}
	return true
}

func (s RoleDescriptors) grantsCluster(one *clusterPrivilege) bool {
	for _, rd := range s {
		for _, name := range rd.Cluster {
			if grants(name, one) {
				return true
			}
		}
	}
	return false
}

// IndexPrivilegeKnown reports whether a requested index privilege is a
// name keyplane knows or an "indices:" action pattern.
func IndexPrivilegeKnown(priv string) bool {
	_, ok := indexPrivileges[priv]
	return ok || strings.HasPrefix(priv, "indices:")
}

func indexActions(priv string) []string {
	if acts, ok := indexPrivileges[priv]; ok {
		return acts
	}
	return []string{priv}
}

// HasIndex reports whether every set grants priv on all indices the name
// (maybe a pattern) could match. allowRestricted is the request's
// allow_restricted_indices: with it, a pattern that could match a
// restricted index (.security) asks for those too; a restricted index
// named outright is asked for whatever it says. Either way only grants
// that allow restricted indices count for it, as in Elasticsearch.
func (p Permission) HasIndex(name, priv string, allowRestricted bool) bool {
	if len(p) == 0 || !IndexPrivilegeKnown(priv) {
		return false
	}
	restricted := RestrictedIndex(name) || allowRestricted && mayMatchRestricted(name)
	want := indexActions(priv)
	for _, set := range p {
		var granted []string
		for _, rd := range set {
			for _, ip := range rd.Indices {
				if (ip.AllowRestrictedIndices || !restricted) && anyCovers(ip.Names, name) {
					for _, gp := range ip.Privileges {
						granted = append(granted, indexActions(gp)...)
					}
				}
			}
		}
		for _, a := range want {
			if !anyCovers(granted, a) {
				return false
			}
		}
	}
	return true
}

// PrivilegeResolver gives the actions of an application privilege name.
type PrivilegeResolver func(app, name string) ([]string, bool)

// isActionLike: Elasticsearch reads an application privilege that holds one
// of "/", ":" or "*" as an action (pattern) rather than a name.
func isActionLike(s string) bool { return strings.ContainsAny(s, "/:*") }

func appActions(app, priv string, resolve PrivilegeResolver) []string {
	if isActionLike(priv) {
		return []string{priv}
	}
	if resolve != nil {
		if acts, ok := resolve(app, priv); ok {
			return acts
		}
	}
	return nil
}

// HasApplication reports whether every set grants priv (a privilege name
// or an action) of app on every resource the resource pattern matches.
func (p Permission) HasApplication(app, priv, resource string, resolve PrivilegeResolver) bool {
	want := appActions(app, priv, resolve)
	if len(p) == 0 || len(want) == 0 {
		return false
	}
	for _, set := range p {
		var granted []string
		for _, rd := range set {
			for _, ap := range rd.Applications {
				if !match(ap.Application, app) || !anyCovers(ap.Resources, resource) {
					continue
				}
				for _, gp := range ap.Privileges {
					granted = append(granted, appActions(app, gp, resolve)...)
				}
			}
		}
		for _, a := range want {
			if !anyCovers(granted, a) {
				return false
			}
		}
	}
	return true
}

// AllowsRunAs reports whether every set lets the principal run as user.
func (p Permission) AllowsRunAs(user string) bool {
	if len(p) == 0 {
		return false
	}
	for _, set := range p {
		ok := false
		for _, rd := range set {
			ok = ok || anyMatch(rd.RunAs, user)
		}
		if !ok {
			return false
		}
	}
	return true
}

// ClusterPrivilegesGranting lists the named cluster privileges that grant
// action whoever asks (manage_own_api_key depends on the request, so it is
// left out), least powerful first, as Elasticsearch's denial messages do.
func ClusterPrivilegesGranting(action string) []string {
	var names []string
	for name, cp := range clusterPrivileges {
		if name != "none" && !cp.own && grantCovers(&cp, &clusterPrivilege{actions: []string{action}}) {
			names = append(names, name)
		}
	}
	implied := map[string]int{}
	for _, a := range names {
		for _, b := range names {
			if ga, gb := clusterPrivileges[a], clusterPrivileges[b]; a != b && grantCovers(&ga, &gb) {
				implied[a]++
			}
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if implied[names[i]] != implied[names[j]] {
			return implied[names[i]] < implied[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}

// DeniedReason is Elasticsearch's message for a refused cluster action:
// who asked (a user with its effective roles, or an API key of a user) and
// which privileges would grant it. missing are assigned roles that do not
// exist.
func DeniedReason(p Principal, roles, missing []string, action string) string {
	who := "user [" + p.User + "]"
	if p.Kind == ActorKey {
		who = "API key id [" + string(p.KeyID) + "] of " + who
	} else {
		who += " with effective roles [" + strings.Join(roles, ",") + "]"
		if len(missing) > 0 {
			who += " (assigned roles [" + strings.Join(missing, ",") + "] were not found)"
		}
	}
	msg := "action [" + action + "] is unauthorized for " + who
	if privs := ClusterPrivilegesGranting(action); len(privs) > 0 {
		msg += ", this action is granted by the cluster privileges [" + strings.Join(privs, ",") + "]"
	}
	return msg
}

// RestrictedIndex reports whether name is one of Elasticsearch's restricted
// (security) indices, which a pattern grants only with
// allow_restricted_indices.
func RestrictedIndex(name string) bool {
	return name == ".security" || strings.HasPrefix(name, ".security-") || strings.HasPrefix(name, ".security_") ||
		strings.HasPrefix(name, ".async-search") || strings.HasPrefix(name, ".fleet-secrets")
}

// mayMatchRestricted is a safe over-approximation of "the pattern matches
// some restricted index": every restricted index starts with a dot.
func mayMatchRestricted(pattern string) bool {
	return pattern != "" && (pattern[0] == '.' || pattern[0] == '*' || pattern[0] == '?')
}

func anyMatch(patterns []string, name string) bool {
	for _, pat := range patterns {
		if match(pat, name) {
			return true
		}
	}
	return false
}
