package domain

import "testing"

// A project-local user and a member of the same name are different owners.
func TestOwnershipKeepsRealmsApart(t *testing.T) {
	member := Key{Owner: Owner{User: "bob", Realm: RealmMembers}}
	local := Key{Owner: Owner{User: "bob", Realm: RealmProject}}
	m := Principal{Kind: ActorUser, User: "bob"}
	l := Principal{Kind: ActorUser, User: "bob", Realm: RealmProject}
	if !member.OwnedBy(m) || member.OwnedBy(l) || !local.OwnedBy(l) || local.OwnedBy(m) {
		t.Fatal("ownership crosses realms")
	}
}

func TestPasswordsShorterThan6CharactersAreInvalid(t *testing.T) {
	if err := CheckPassword("12345"); KindOf(err) != KindInvalid || CheckPassword("123456") != nil {
		t.Error("passwords are at least 6 characters")
	}
}
