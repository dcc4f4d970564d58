package domain

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// goldenKeyAndOrgEvents are the released versions of the events that
// every key and organization writes, as testdata/events holds them.
func goldenKeyAndOrgEvents(t *testing.T) []golden {
	exp := time.Date(2027, 2, 28, 12, 0, 0, 0, time.UTC)
	rds, err := ParseRoleDescriptors([]byte(`{"read_logs":{"cluster":["monitor"],"indices":[{"names":["logs-*"],"privileges":["read"]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	// A cross-cluster key's descriptor, as Elasticsearch derives it from
	// {"search":[{"names":["logs-*"],"query":{"term":{"team":"infra"}}}]}.
	crossCluster, err := ParseRoleDescriptors([]byte(`{"cross_cluster":{"cluster":["cross_cluster_search","monitor_enrich"],"indices":[{"names":["logs-*"],` +
		`"privileges":["read","read_cross_cluster","view_index_metadata"],"query":{"term":{"team":"infra"}}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	return []golden{
		{"KeyCreated.v1.json", KeyCreated{KeyID: "k1", Name: "deploy", Scope: ScopeProject, Project: "p1", Type: KeyPersonal,
			Owner: Owner{User: "ann", Realm: RealmMembers}, Hash: "sha256:" + strings.Repeat("ab", 32), Expires: &exp,
			RoleDescriptors: rds, LimitedBy: []RoleDescriptors{rds}, Metadata: map[string]any{"team": "infra", "tier": 2.0}}},
		{"KeyCreated.v1.rotated_from.json", KeyCreated{KeyID: "k2", Name: "deploy", Scope: ScopeProject, Project: "p1", Type: KeyPersonal,
			Owner: Owner{User: "ann", Realm: RealmMembers}, Hash: "sha256:" + strings.Repeat("ab", 32), Expires: &exp,
			RoleDescriptors: rds, LimitedBy: []RoleDescriptors{rds}, Metadata: map[string]any{"team": "infra", "tier": 2.0}, RotatedFrom: "k1"}},
		{"KeyCreated.v2.json", KeyCreated{KeyID: "k3", Name: "remote-search", Scope: ScopeProject, Project: "p1", Type: KeyCrossCluster,
			Owner: Owner{User: "ann", Realm: RealmMembers}, Hash: "sha256:" + strings.Repeat("ab", 32), Expires: &exp,
			RoleDescriptors: crossCluster, Metadata: map[string]any{"team": "infra"}}},
		{"KeyRotated.v1.json", KeyRotated{RotatedTo: "k2", Expires: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}},
		{"KeyInvalidated.v1.json", KeyInvalidated{Reason: "rotated"}},
		{"KeyUsed.v1.json", KeyUsed{KeyID: "k1", Used: time.Date(2026, 11, 30, 12, 3, 41, 0, time.UTC)}},
		{"OrgCreated.v1.json", OrgCreated{OrgID: "org1", Name: "acme", Owner: "ann"}},
		{"OrgNameClaimed.v1.json", OrgNameClaimed{Name: "acme", OrgID: "org1"}},
		{"ProjectCreated.v1.json", ProjectCreated{ProjectID: "p1", Name: "default"}},
		{"MemberAdded.v1.json", MemberAdded{User: "bob", Role: RoleAdmin}},
		{"ContactsSet.v1.json", ContactsSet{Emails: []string{"ops@example.com", "sre@example.com"}}},
		{"KeyPolicySet.v1.json", KeyPolicySet{DefaultExpiration: "90d", MaxExpiration: "365d", AllowNever: new(false), MaxActiveKeys: 500, MaxGrace: "7d"}},
		{"UserCreated.v1.json", UserCreated{Name: "ann", Email: "ann@example.com", FullName: "Ann Smith",
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}},
		{"IdempotencyKeyClaimed.v1.json", IdempotencyKeyClaimed{KeyID: "k1", Request: strings.Repeat("cd", 32)}},
		{"SessionEnded.v1.json", SessionEnded{Session: strings.Repeat("ef", 32), Kind: SessionToken, User: "ann", Expires: exp}},
		{"MemberRemoved.v1.json", MemberRemoved{User: "bob", Role: RoleAdmin}},
		{"InvitationCreated.v1.json", InvitationCreated{ID: "inv1", Email: "bob@example.com", Role: RoleAdmin,
			TokenHash: strings.Repeat("ab", 32), Expires: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}},
		{"InvitationRevoked.v1.json", InvitationRevoked{ID: "inv1"}},
		{"InvitationAccepted.v1.json", InvitationAccepted{ID: "inv1", User: "bob", Role: RoleAdmin, Email: "bob@example.com"}},
		{"PasswordChanged.v1.json", PasswordChanged{PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"}},
		{"PasswordResetForced.v1.json", PasswordResetForced{Org: "org1"}},
		{"SessionsRevoked.v1.json", SessionsRevoked{User: "ann", Before: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}},
	}
}

// goldenKeyUpdates are the released versions of KeyUpdated, as the keys of
// members and of project-local users write them.
func goldenKeyUpdates(t *testing.T) []golden {
	monitor := mustRDs(t, `{"r": {"cluster": ["monitor"]}}`)
	meta := map[string]any{"env": "prod"}
	limit := []RoleDescriptors{mustRDs(t, `{"user_role": {"cluster": ["manage_own_api_key"]}}`)}
	empty := map[string]any{}
	return []golden{
		{"KeyUpdated.v1.json", KeyUpdated{RoleDescriptors: &monitor, Metadata: &meta, NeverExpires: true}},
		{"KeyUpdated.v2.json", KeyUpdated{Metadata: &empty, LimitedBy: &limit}},
	}
}

func TestKeyUpdatesStayReadable(t *testing.T) {
	checkGolden(t, goldenKeyUpdates(t))
}

// TestKeyAndOrgEventsV1StayReadable reads the golden events: a released
// version never changes meaning, and the current one is still written
// byte for byte as it was.
func TestKeyAndOrgEventsV1StayReadable(t *testing.T) {
	checkGolden(t, goldenKeyAndOrgEvents(t))
}

// testOnlyEvents are registered by tests only (upcast_test.go).
var testOnlyEvents = map[string]bool{"TestNote": true}

// TestEveryReleasedEventVersionHasAGoldenFile: each event type and version
// this binary reads has a golden file, and a payload in one of the golden
// tables that file must decode to, so that no released version can change
// meaning without a test failing. (esrealm's events, registered from its
// package, are checked by esrealm's own test of the same name.)
func TestEveryReleasedEventVersionHasAGoldenFile(t *testing.T) {
	checked := map[string]bool{}
	for _, table := range [][]golden{goldenKeyAndOrgEvents(t), goldenKeyUpdates(t), goldenNoticeEvents()} {
		for _, g := range table {
			checked[g.file] = true
		}
	}
	for k := range decoders {
		if testOnlyEvents[k.typ] {
			continue
		}
		file := fmt.Sprintf("%s.v%d.json", k.typ, k.v)
		if _, err := os.Stat("testdata/events/" + file); err != nil {
			t.Errorf("%s v%d has no golden file: %v", k.typ, k.v, err)
		}
		if !checked[file] {
			t.Errorf("%s v%d: no golden table says what %s decodes to", k.typ, k.v, file)
		}
	}
}
