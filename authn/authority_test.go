package authn

import (
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esrealm"
)

// outcome is what an authorization answers: allowed, or the kind of its
// refusal.
func outcome(err error) string {
	if err == nil {
		return "allowed"
	}
	return domain.KindOf(err).String()
}

// A key never holds more than its owner holds now: its permission is
// intersected with the owner's live role, and a key of an owner who is
// gone, or of an earlier membership or an earlier user of the same name,
// holds nothing.
func TestAKeyHoldsNoMoreThanItsOwnersLiveRole(t *testing.T) {
	orgWide := domain.Target{Tenant: acme}
	inP1 := domain.Target{Tenant: acme, Project: p1}
	tests := []struct {
		name   string
		owner  domain.Owner
		scope  domain.Scope
		then   func(w *world)
		action string
		target domain.Target
		want   string
	}{
		{"an admin's key creates keys", member("bob"), domain.ScopeOrg, nil,
			domain.ActionCreateKey, orgWide, "allowed"},
		{"the key of an admin demoted to viewer creates none", member("bob"), domain.ScopeOrg,
			func(w *world) { w.org(acme, domain.MemberAdded{User: "bob", Role: domain.RoleViewer}) },
			domain.ActionCreateKey, orgWide, domain.KindForbidden.String()},
		{"the key of an admin demoted to viewer still reads", member("bob"), domain.ScopeOrg,
			func(w *world) { w.org(acme, domain.MemberAdded{User: "bob", Role: domain.RoleViewer}) },
			domain.ActionOrgRead, orgWide, "allowed"},
		{"the key of a removed member holds nothing", member("bob"), domain.ScopeOrg,
			func(w *world) { w.org(acme, domain.MemberRemoved{User: "bob", Role: domain.RoleAdmin}) },
			domain.ActionOrgRead, orgWide, domain.KindForbidden.String()},
		{"the key of an earlier membership holds nothing", member("bob"), domain.ScopeOrg,
			func(w *world) {
				w.org(acme, domain.MemberRemoved{User: "bob", Role: domain.RoleAdmin})
				w.org(acme, domain.MemberAdded{User: "bob", Role: domain.RoleAdmin})
			},
			domain.ActionOrgRead, orgWide, domain.KindForbidden.String()},
		{"a project user's key acts with the user's roles", projectUser("jane"), domain.ScopeProject, nil,
			domain.ActionMonitorMain, inP1, "allowed"},
		{"a project user's key holds no more than the user's roles", projectUser("jane"), domain.ScopeProject, nil,
			domain.ActionPutUser, inP1, domain.KindForbidden.String()},
		{"the key of a deleted project user holds nothing", projectUser("jane"), domain.ScopeProject,
			func(w *world) { w.realm(acme, p1, esrealm.RealmUserDeleted{Name: "jane"}) },
			domain.ActionMonitorMain, inP1, domain.KindForbidden.String()},
		{"the key of a deleted project user holds nothing for a new user of its name", projectUser("jane"), domain.ScopeProject,
			func(w *world) {
				w.realm(acme, p1, esrealm.RealmUserDeleted{Name: "jane"})
				w.realm(acme, p1, esrealm.RealmUserPut{Name: "jane", PasswordHash: hash("jane-password"), Roles: []string{"keys"}, Enabled: true})
			},
			domain.ActionMonitorMain, inP1, domain.KindForbidden.String()},
		{"the key of a project user whose role was taken away holds nothing", projectUser("jane"), domain.ScopeProject,
			func(w *world) { w.realm(acme, p1, esrealm.RealmRoleDeleted{Name: "keys"}) },
			domain.ActionMonitorMain, inP1, domain.KindForbidden.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			pr := domain.ProjectID("")
			if tt.scope == domain.ScopeProject {
				pr = p1
			}
			cred := w.key(acme, "key-1", tt.owner, tt.scope, pr)
			if tt.then != nil {
				tt.then(w)
			}
			p, err := w.a.Key(cred)
			if err != nil {
				t.Fatalf("the key does not authenticate: %v", err)
			}
			if got := outcome(p.Authorize(tt.action, tt.target)); got != tt.want {
				t.Fatalf("%s: %s, want %s", tt.action, got, tt.want)
			}
		})
	}
}

// A key created by a key is bounded by its first key's owner, now.
func TestADerivedKeyIsBoundedByItsFirstOwnersLiveRole(t *testing.T) {
	w := newWorld(t)
	w.key(acme, "parent", member("bob"), domain.ScopeOrg, "")
	cred := w.key(acme, "child", domain.Owner{User: "bob", Realm: domain.RealmMembers, ByKey: "parent"}, domain.ScopeOrg, "")
	p, err := w.a.Key(cred)
	if err != nil || p.Authorize(domain.ActionCreateKey, domain.Target{Tenant: acme}) != nil {
		t.Fatalf("before the demotion: %v, %v", err, p.Authorize(domain.ActionCreateKey, domain.Target{Tenant: acme}))
	}
	w.org(acme, domain.MemberAdded{User: "bob", Role: domain.RoleViewer})
	p, _ = w.a.Key(cred)
	if got := outcome(p.Authorize(domain.ActionCreateKey, domain.Target{Tenant: acme})); got != domain.KindForbidden.String() {
		t.Fatalf("the derived key of a demoted admin: %s, want forbidden", got)
	}
}

// Keys that do not authenticate are told apart only as far as the caller
// may know: expired and invalidated keys say so, anything else is one
// answer.
func TestAKeyThatDoesNotHoldIsRefused(t *testing.T) {
	w := newWorld(t)
	good := w.key(acme, "key-1", member("bob"), domain.ScopeOrg, "")
	gone := w.key(acme, "key-2", member("bob"), domain.ScopeOrg, "")
	w.add(acme, domain.AggKey, "key-2", domain.KeyInvalidated{})
	wrong := domain.Encode("key-1", domain.SecretFrom([17]byte{9}))
	tests := []struct{ name, cred, want string }{
		{"a live key", good, ""},
		{"an invalidated key", gone, "api key has been invalidated"},
		{"a wrong secret", wrong, "unable to authenticate with provided credentials"},
		{"an unknown key", domain.Encode("nope", domain.SecretFrom([17]byte{1})), "unable to authenticate with provided credentials"},
		{"not a credential", "%%%", "invalid ApiKey credential: not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.a.Key(tt.cred)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (domain.KindOf(err) != domain.KindUnauthenticated || reason(err) != tt.want):
				t.Fatalf("%v, want unauthenticated: %s", err, tt.want)
			}
		})
	}
}

func reason(err error) string {
	if e, ok := err.(*domain.Error); ok {
		return e.Reason
	}
	return err.Error()
}

// A project user never shadows a member: a name that is a member of the
// organization is the member's in every project, and every failed
// password gets one answer, whoever the name is.
func TestAProjectUserNeverShadowsAMember(t *testing.T) {
	w := newWorld(t)
	// sam was a project user of p1 before a member of that name joined.
	w.realm(acme, p1, esrealm.RealmUserPut{Name: "sam", PasswordHash: hash("sam-project-password"), Roles: []string{"keys"}, Enabled: true})
	w.login("sam", "sam-member-password")
	w.org(acme, domain.MemberAdded{User: "sam", Role: domain.RoleViewer})
	w.realm(acme, p1, esrealm.RealmUserPut{Name: "off", PasswordHash: hash("off-password"), Roles: []string{"keys"}, Enabled: false})
	tests := []struct {
		name, user, pw string
		want           string // the realm of the principal, or the answer
	}{
		{"a member's password is the member's", "sam", "sam-member-password", domain.RealmMembers},
		{"the shadowed project user's password is refused", "sam", "sam-project-password", "unable to authenticate user [sam] for REST request [/projects/p-one/_security/_authenticate]"},
		{"a project user's password is the project user's", "jane", "jane-password", domain.RealmProject},
		{"a wrong password", "jane", "wrong", "unable to authenticate user [jane] for REST request [/projects/p-one/_security/_authenticate]"},
		{"a disabled user", "off", "off-password", "unable to authenticate user [off] for REST request [/projects/p-one/_security/_authenticate]"},
		{"nobody of that name", "zed", "zed-password", "unable to authenticate user [zed] for REST request [/projects/p-one/_security/_authenticate]"},
		{"a member of another organization", "gus", "gus-password", "unable to authenticate user [gus] for REST request [/projects/p-one/_security/_authenticate]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, err := w.a.Project(ctx, Request{Authorization: basic(tt.user, tt.pw), Addr: "10.0.0.1",
				Path: "/projects/p-one/_security/_authenticate", Project: string(p1)})
			got := acc.Principal.RealmName()
			if err != nil {
				got = reason(err)
			}
			if got != tt.want {
				t.Fatalf("%s", got)
			}
		})
	}
}

// An unknown project and another organization's project answer alike,
// whatever the credential: nothing tells a caller which projects exist.
func TestAnUnknownProjectAndAForeignOneAnswerAlike(t *testing.T) {
	w := newWorld(t)
	key := "ApiKey " + w.key(acme, "key-1", member("bob"), domain.ScopeOrg, "")
	o, pr := w.project(p1)
	token := "Bearer " + w.a.SignToken(Token{ID: "t1", Tenant: acme, Project: p1, User: "bob", Realm: domain.RealmMembers,
		Expires: t0.Add(TokenLifetime).Unix()}, o, pr)
	creds := map[string]string{"an api key": key, "a member's password": basic("bob", "bob-password"), "a token": token,
		"a wrong password": basic("bob", "wrong")}
	for name, cred := range creds {
		t.Run(name, func(t *testing.T) {
			answer := func(project string) string {
				_, err := w.a.Project(ctx, Request{Authorization: cred, Addr: "10.0.0.2", Path: "/projects/x/_security/_authenticate", Project: project})
				return outcome(err) + ": " + reason(err)
			}
			foreign, unknown := answer(string(q1)), answer("no-such-project")
			if foreign != unknown || !strings.HasPrefix(foreign, domain.KindUnauthenticated.String()+": ") {
				t.Fatalf("another organization's project: %q; an unknown one: %q", foreign, unknown)
			}
		})
	}
}

// run_as reaches only users of the request's own project, and only those
// the caller's run_as privileges name: never a member, never a user of
// another project.
func TestRunAsReachesOnlyUsersOfTheProject(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, caller, runAs string
		project             domain.ProjectID
		want                string // the user run as, or the refusal's kind
	}{
		{"a project user runs as another user of its project", basic("jane", "jane-password"), "kim", p1, "kim"},
		{"the owner runs as a user of the project", basic("ann", "ann-password"), "jane", p1, "jane"},
		{"nobody runs as a member", basic("jane", "jane-password"), "ann", p1, domain.KindForbidden.String()},
		{"the owner does not run as another member", basic("ann", "ann-password"), "bob", p1, domain.KindForbidden.String()},
		{"nobody runs as a user of another project", basic("ann", "ann-password"), "kim", p2, domain.KindForbidden.String()},
		{"a caller without run_as privileges runs as nobody", basic("kim", "kim-password"), "jane", p1, domain.KindForbidden.String()},
		{"an admin, without run_as, runs as nobody", basic("bob", "bob-password"), "jane", p1, domain.KindForbidden.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, err := w.a.Project(ctx, Request{Authorization: tt.caller, Addr: "10.0.0.3", Path: "/x", Project: string(tt.project), RunAs: tt.runAs})
			got := acc.Principal.User
			if err != nil {
				got = domain.KindOf(err).String()
				if acc.Caller.User == "" {
					t.Fatalf("a refused run_as does not tell who the caller was")
				}
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := w.a.Console(ctx, Request{Authorization: basic("ann", "ann-password"), RunAs: "jane"}); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("run_as on the console API: %v, want forbidden", err)
	}
}

// A console session holds while its login does: a logout, a revocation of
// the login's sessions, or a new password ends it on every replica.
func TestASessionOfAnEndedLoginIsRefused(t *testing.T) {
	tests := []struct {
		name string
		then func(w *world, s Session)
		ok   bool
	}{
		{"a live session", func(*world, Session) {}, true},
		{"a session after another login's sessions were revoked", func(w *world, _ Session) {
			w.user("carl", domain.SessionsRevoked{User: "carl", Before: w.now.Add(time.Second)})
		}, true},
		{"a session of a revoked login", func(w *world, _ Session) {
			w.user("bob", domain.SessionsRevoked{User: "bob", Before: w.now.Add(time.Millisecond)})
		}, false},
		{"a session logged out on another replica", func(w *world, s Session) {
			w.add("", domain.AggSession, s.Hash(), domain.SessionEnded{Session: s.Hash(), Kind: domain.SessionConsole, User: "bob", Expires: time.Unix(s.Expires, 0)})
		}, false},
		{"a session of an old password", func(w *world, _ Session) {
			w.user("bob", domain.PasswordChanged{PasswordHash: hash("bob-new-password")})
		}, false},
		{"a session past its lifetime", func(w *world, _ Session) { w.now = w.now.Add(SessionLifetime) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			s, cookie := w.a.IssueSession("bob")
			tt.then(w, s)
			_, err := w.a.Session(cookie)
			if (err == nil) != tt.ok {
				t.Fatalf("Session: %v, want ok %v", err, tt.ok)
			}
			if !tt.ok && domain.KindOf(err) != domain.KindUnauthenticated {
				t.Fatalf("Session: %v, want unauthenticated", err)
			}
		})
	}
}

// A state change with a session needs its own page's origin and the
// session's CSRF token; a read needs neither.
func TestASessionChangesStateOnlyWithItsCSRFTokenFromItsOrigin(t *testing.T) {
	w := newWorld(t)
	s, cookie := w.a.IssueSession("bob")
	_, other := w.a.IssueSession("bob")
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"a read", Request{HasCookie: true, Cookie: cookie}, "allowed"},
		{"a change with the token", Request{HasCookie: true, Cookie: cookie, StateChange: true, SameOrigin: true, CSRF: w.a.CSRFToken(s)}, "allowed"},
		{"a change without the token", Request{HasCookie: true, Cookie: cookie, StateChange: true, SameOrigin: true}, domain.KindForbidden.String()},
		{"a change with another session's token", Request{HasCookie: true, Cookie: other, StateChange: true, SameOrigin: true, CSRF: w.a.CSRFToken(s)}, domain.KindForbidden.String()},
		{"a change from another origin", Request{HasCookie: true, Cookie: cookie, StateChange: true, CSRF: w.a.CSRFToken(s)}, domain.KindForbidden.String()},
		{"no cookie", Request{Path: "/api/v1/orgs"}, domain.KindUnauthenticated.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := w.a.Console(ctx, tt.req)
			if got := outcome(err); got != tt.want {
				t.Fatalf("%s (%v), want %s", got, err, tt.want)
			}
			if err == nil && (p.User != "bob" || p.Memberships[acme] != domain.RoleAdmin) {
				t.Fatalf("principal %+v, want bob, admin of acme", p)
			}
		})
	}
}

// An access token acts for the account and password it was made for: a
// new password, or a new user of the same name, ends it.
func TestATokenOfAnOldPasswordOrAccountIsRefused(t *testing.T) {
	tests := []struct {
		name, user, realm string
		then              func(w *world)
		ok                bool
	}{
		{"a member's live token", "bob", domain.RealmMembers, func(*world) {}, true},
		{"a member's token after a new password", "bob", domain.RealmMembers, func(w *world) {
			w.user("bob", domain.PasswordChanged{PasswordHash: hash("bob-new-password")})
		}, false},
		{"a member's token after a forced reset", "bob", domain.RealmMembers, func(w *world) {
			w.user("bob", domain.PasswordResetForced{Org: acme})
		}, false},
		{"a member's token of an earlier membership", "bob", domain.RealmMembers, func(w *world) {
			w.org(acme, domain.MemberRemoved{User: "bob", Role: domain.RoleAdmin})
			w.org(acme, domain.MemberAdded{User: "bob", Role: domain.RoleAdmin})
		}, false},
		{"a project user's live token", "jane", domain.RealmProject, func(*world) {}, true},
		{"a project user's token after a new password", "jane", domain.RealmProject, func(w *world) {
			w.realm(acme, p1, esrealm.RealmUserPut{Name: "jane", PasswordHash: hash("jane-new-password"), Roles: []string{"keys"}, Enabled: true})
		}, false},
		{"a deleted project user's token, for a new user of its name", "jane", domain.RealmProject, func(w *world) {
			w.realm(acme, p1, esrealm.RealmUserDeleted{Name: "jane"})
			w.realm(acme, p1, esrealm.RealmUserPut{Name: "jane", PasswordHash: hash("jane-password"), Roles: []string{"keys"}, Enabled: true})
		}, false},
		{"a token past its lifetime", "jane", domain.RealmProject, func(w *world) { w.now = w.now.Add(TokenLifetime) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			o, pr := w.project(p1)
			tok := w.a.SignToken(Token{ID: "t1", Tenant: acme, Project: p1, User: tt.user, Realm: tt.realm,
				Expires: w.now.Add(TokenLifetime).Unix()}, o, pr)
			tt.then(w)
			o, pr = w.project(p1)
			p, err := w.a.TokenPrincipal(o, pr, tok)
			if (err == nil) != tt.ok || err == nil && p.User != tt.user {
				t.Fatalf("TokenPrincipal: %+v, %v; want ok %v", p, err, tt.ok)
			}
			acc, err := w.a.Project(ctx, Request{Authorization: "Bearer " + tok, Path: "/x", Project: string(p1)})
			if (err == nil) != tt.ok || err == nil && acc.Principal.User != tt.user {
				t.Fatalf("Bearer: %+v, %v; want ok %v", acc.Principal, err, tt.ok)
			}
		})
	}
}

// The throttle counts per principal: a member, a project user of one
// project, and a same-named user of another project each have their own
// counts, and one's success clears none of the others'.
func TestPasswordsAreThrottledPerPrincipal(t *testing.T) {
	w := newWorld(t)
	o, pr1 := w.project(p1)
	_, pr2 := w.project(p2)
	at := func(pr *domain.Project, name, pw string) error {
		_, err := w.a.ProjectPassword(ctx, Request{Addr: "10.0.0.4", Path: "/x"}, o, pr, name, pw)
		return err
	}
	for i := 0; i <= freePair; i++ {
		if err := at(pr1, "jane", "wrong"); domain.KindOf(err) != domain.KindUnauthenticated {
			t.Fatalf("failure %d: %v, want unauthenticated", i, err)
		}
	}
	tests := []struct {
		name, user, pw string
		pr             *domain.Project
		want           string
	}{
		{"the guessed principal is locked, its right password too", "jane", "jane-password", pr1, domain.KindThrottled.String()},
		{"the same name in another project is not", "jane", "jane-two-password", pr2, "allowed"},
		{"a member from the same address is not", "bob", "bob-password", pr1, "allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcome(at(tt.pr, tt.user, tt.pw)); got != tt.want {
				t.Fatalf("%s, want %s", got, tt.want)
			}
		})
	}
	if _, err := w.a.MemberPassword(ctx, "10.0.0.4", "bob", "bob-password"); err != nil {
		t.Fatalf("the member on the console API: %v", err)
	}
}
