package domain

import (
	"strings"
	"testing"
	"time"
)

// memberOrg is an organization with owner ann, admin bob and viewer vic.
func memberOrg(t *testing.T, owners ...string) *Org {
	t.Helper()
	o := &Org{}
	apply := func(p Payload) {
		if err := o.Apply(NewEvent("e", "org1", AggOrg, "org1", Meta{Time: time.Unix(0, 0)}, p)); err != nil {
			t.Fatal(err)
		}
	}
	apply(OrgCreated{OrgID: "org1", Name: "acme", Owner: "ann"})
	apply(MemberAdded{User: "bob", Role: RoleAdmin})
	apply(MemberAdded{User: "vic", Role: RoleViewer})
	for _, name := range owners {
		apply(MemberAdded{User: name, Role: RoleOwner})
	}
	return o
}

func member(o *Org, name string) Principal {
	return Principal{Kind: ActorUser, User: name, Memberships: map[TenantID]Role{o.ID: o.Members[name]}}
}

// memberKey is a key of name's with its own descriptors (none: its owner's).
func memberKey(t *testing.T, o *Org, name, descriptors string) Principal {
	perm := Permission{RolePermission(o.Members[name])}
	if descriptors != "" {
		rds, err := ParseRoleDescriptors([]byte(descriptors))
		if err != nil {
			t.Fatal(err)
		}
		perm = Permission{rds, RolePermission(o.Members[name])}
	}
	return Principal{Kind: ActorKey, User: name, KeyID: "k", Tenant: o.ID, Scope: ScopeOrg, Permission: perm}
}

// ok is the want of a decision that succeeds.
const kindOK Kind = -1

func TestOnlyOwnersRemoveOrReRoleOwnersAndOneOwnerStays(t *testing.T) {
	one := memberOrg(t)
	two := memberOrg(t, "oz")
	narrow := `{"r":{"cluster":["manage_security"]}}`
	tests := []struct {
		name   string
		org    *Org
		caller Principal
		do     func(Principal, *Org) error
		want   Kind // kindOK for success
	}{
		{"owner removes admin", one, member(one, "ann"), remove("bob"), kindOK},
		{"admin removes viewer", one, member(one, "bob"), remove("vic"), kindOK},
		{"admin removes owner", two, member(two, "bob"), remove("oz"), KindForbidden},
		{"admin's key removes owner", two, memberKey(t, two, "bob", ""), remove("oz"), KindForbidden},
		{"owner's narrowed key removes owner", two, memberKey(t, two, "ann", narrow), remove("oz"), KindForbidden},
		{"owner's key removes owner", two, memberKey(t, two, "ann", ""), remove("oz"), kindOK},
		{"viewer removes viewer", one, member(one, "vic"), remove("vic"), KindForbidden},
		{"owner removes the last owner", one, member(one, "ann"), remove("ann"), KindConflict},
		{"owner removes another owner", two, member(two, "ann"), remove("oz"), kindOK},
		{"unknown member", one, member(one, "ann"), remove("zed"), KindNotFound},
		{"another organization's member", one, Principal{Kind: ActorUser, User: "eve", Memberships: map[TenantID]Role{"org2": RoleOwner}}, remove("bob"), KindNotFound},
		{"admin promotes self", one, member(one, "bob"), reRole("bob", RoleOwner), KindForbidden},
		{"admin's key promotes its owner", one, memberKey(t, one, "bob", ""), reRole("bob", RoleOwner), KindForbidden},
		{"admin demotes owner", two, member(two, "bob"), reRole("oz", RoleViewer), KindForbidden},
		{"owner demotes the last owner", one, member(one, "ann"), reRole("ann", RoleAdmin), KindConflict},
		{"owner demotes another owner", two, member(two, "ann"), reRole("oz", RoleAdmin), kindOK},
		{"admin demotes admin", one, member(one, "bob"), reRole("bob", RoleViewer), kindOK},
		{"bad role", one, member(one, "ann"), reRole("bob", "god"), KindInvalid},
		{"admin invites owner", one, member(one, "bob"), invite(RoleOwner), KindForbidden},
		{"admin's key invites owner", one, memberKey(t, one, "bob", ""), invite(RoleOwner), KindForbidden},
		{"owner invites owner", one, member(one, "ann"), invite(RoleOwner), kindOK},
		{"admin invites admin", one, member(one, "bob"), invite(RoleAdmin), kindOK},
		{"viewer invites viewer", one, member(one, "vic"), invite(RoleViewer), KindForbidden},
		{"admin forces a reset", one, member(one, "bob"), forceReset("vic"), KindForbidden},
		{"owner forces a reset", one, member(one, "ann"), forceReset("vic"), kindOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(tt.caller, tt.org)
			if tt.want == kindOK && err != nil || tt.want != kindOK && !IsKind(err, tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func remove(user string) func(Principal, *Org) error {
	return func(p Principal, o *Org) error { _, err := DecideRemoveMember(p, o, user); return err }
}

func reRole(user string, r Role) func(Principal, *Org) error {
	return func(p Principal, o *Org) error { _, _, err := DecideChangeRole(p, o, user, r); return err }
}

func invite(r Role) func(Principal, *Org) error {
	return func(p Principal, o *Org) error {
		_, err := DecideInvite(p, o, time.Unix(0, 0), "inv", "x@example.com", r, strings.Repeat("ab", 32))
		return err
	}
}

func forceReset(user string) func(Principal, *Org) error {
	return func(p Principal, o *Org) error { _, err := DecideForcePasswordReset(p, o, user); return err }
}

func TestAnInvitationIsPendingUntilAcceptedRevokedOrExpired(t *testing.T) {
	o := memberOrg(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ev, err := DecideInvite(member(o, "ann"), o, at, "inv1", "cy@example.com", RoleAdmin, strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Apply(NewEvent("e", "org1", AggOrg, "org1", Meta{Time: at}, ev)); err != nil {
		t.Fatal(err)
	}
	if _, err := DecideAcceptInvitation(o, at.Add(InvitationLifetime), "inv1", "cy"); !IsKind(err, KindNotFound) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := DecideAcceptInvitation(o, at, "inv1", "bob"); !IsKind(err, KindConflict) {
		t.Fatalf("a member accepts: %v", err)
	}
	acc, err := DecideAcceptInvitation(o, at.Add(time.Hour), "inv1", "cy")
	if err != nil || acc.Role != RoleAdmin || acc.Email != "cy@example.com" {
		t.Fatalf("accept: %+v %v", acc, err)
	}
	if err := o.Apply(NewEvent("e", "org1", AggOrg, "org1", Meta{Time: at}, acc)); err != nil {
		t.Fatal(err)
	}
	if o.Members["cy"] != RoleAdmin || o.MemberEmails["cy"] != "cy@example.com" || len(o.Invitations) != 0 {
		t.Fatalf("after acceptance: %+v", o)
	}
	if _, err := DecideAcceptInvitation(o, at.Add(time.Hour), "inv1", "dee"); !IsKind(err, KindNotFound) {
		t.Fatalf("used twice: %v", err)
	}
}
