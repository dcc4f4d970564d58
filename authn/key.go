package authn

import (
	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

// Key verifies an encoded API key credential and builds the key's
// principal with its effective permission.
func (a *Authenticator) Key(cred string) (domain.Principal, error) {
	var buf [256]byte
	id, secret, err := domain.ParseAPIKeyCredential(cred, buf[:])
	if err != nil {
		a.malformed()
		return domain.Principal{}, err
	}
	v := a.auth.Verify(id, secret, a.now())
	a.verdict(v)
	switch v {
	case projections.Valid:
	case projections.Expired:
		return domain.Principal{}, domain.Unauthenticated("api key is expired")
	case projections.Invalidated:
		return domain.Principal{}, domain.Unauthenticated("api key has been invalidated")
	default:
		return domain.Principal{}, errBadCredentials
	}
	k, ok := a.keys.ByID(domain.KeyID(id))
	if !ok {
		return domain.Principal{}, errBadCredentials
	}
	if k.Type == domain.KeyCrossCluster {
		// A cross-cluster key is for a remote cluster's transport, never
		// for a REST request, whichever of keyplane's APIs (Elasticsearch's
		// rule). Said only to a caller who holds its secret.
		return domain.Principal{}, domain.Unauthenticated("authentication expected API key type of [%s], but API key [%s] has type [%s]",
			domain.ESTypeRest, k.ID, domain.ESTypeCrossCluster)
	}
	return a.KeyPrincipal(&k), nil
}

var errBadCredentials = domain.Unauthenticated("unable to authenticate with provided credentials")

// KeyPrincipal is a key's identity and effective permission: its own
// descriptors (if any), what limited it at creation, and its owner's
// current role, intersected.
func (a *Authenticator) KeyPrincipal(k *domain.Key) domain.Principal {
	// Sized for all three parts at once: this runs on every request.
	perm := make(domain.Permission, 0, len(k.LimitedBy)+2)
	if len(k.RoleDescriptors) > 0 {
		perm = append(perm, k.RoleDescriptors)
	}
	perm = append(perm, k.LimitedBy...)
	perm = append(perm, a.OwnerPermission(k))
	return domain.Principal{Kind: domain.ActorKey, User: k.Owner.User, Realm: k.Owner.Realm, KeyID: k.ID, KeyName: k.Name, Tenant: k.Tenant,
		Scope: k.Scope, Project: k.Project, Permission: perm, Expires: k.Expires}
}

// OwnerPermission is the live permission of a key's owner, the last set of
// the key's effective permission: a member's organization role, or a
// project-local user's current roles. A derived key's owner is found
// through the key that created it.
func (a *Authenticator) OwnerPermission(k *domain.Key) domain.RoleDescriptors {
	realm, oldest := k.Owner.Realm, k.CreatedSeq
	for by, hops := k.Owner.ByKey, 0; by != "" && hops < 8; hops++ {
		parent, ok := a.keys.Get(k.Tenant, by)
		if !ok {
			return domain.RoleDescriptors{}
		}
		realm, by, oldest = parent.Owner.Realm, parent.Owner.ByKey, min(oldest, parent.CreatedSeq)
	}
	if realm == domain.RealmProject {
		if a.realms == nil {
			return domain.RoleDescriptors{}
		}
		// A key of a deleted user stays without privileges when another
		// user takes the name: it is older than that user.
		if since, ok := a.realms.UserSince(k.Tenant, k.Project, k.Owner.User); !ok || oldest < since {
			return domain.RoleDescriptors{}
		}
		p, _, _, ok := a.realms.Principal(k.Tenant, k.Project, k.Owner.User)
		if !ok || len(p.Permission) == 0 {
			return domain.RoleDescriptors{}
		}
		return p.Permission[0]
	}
	// A member removed and invited back is a new membership: keys from
	// before the removal stay without privileges.
	role, since, ok := a.dir.Membership(k.Tenant, k.Owner.User)
	if !ok || oldest < since {
		return domain.RoleDescriptors{}
	}
	return domain.RolePermission(role)
}
