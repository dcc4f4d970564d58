package domain

import (
	"encoding/json"
	"testing"
)

func TestParseRoleDescriptors(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"absent", ``, true},
		{"null", `null`, true},
		{"empty object", `{}`, true},
		{"seed example", `{"books-read-only":{"cluster":[],"indices":[{"names":["books"],"privileges":["read"]}],"applications":[],"run_as":[],"metadata":{},"transient_metadata":{"enabled":true}}}`, true},
		{"index alias and string names", `{"r":{"cluster":["all"],"index":[{"names":"index-a*","privileges":["read"]}]}}`, true},
		{"action pattern", `{"r":{"cluster":["cluster:monitor/*"]}}`, true},
		{"not an object", `[]`, false},
		{"descriptor not an object", `{"r":1}`, false},
		{"unknown field", `{"r":{"clusterz":[]}}`, false},
		{"unknown cluster privilege", `{"r":{"cluster":["fly"]}}`, false},
		{"unknown index privilege", `{"r":{"indices":[{"names":["a"],"privileges":["fly"]}]}}`, false},
		{"index without names", `{"r":{"indices":[{"privileges":["read"]}]}}`, false},
		{"index without privileges", `{"r":{"indices":[{"names":["a"]}]}}`, false},
		{"reserved metadata", `{"r":{"metadata":{"_x":1}}}`, false},
		{"wrong type", `{"r":{"cluster":5}}`, false},
		{"application without resources", `{"r":{"applications":[{"application":"a","privileges":["read"]}]}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRoleDescriptors(json.RawMessage(tt.in))
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !IsKind(err, KindInvalid) {
				t.Fatalf("want invalid, got %v", err)
			}
		})
	}
}

func TestPermissionIsAnIntersection(t *testing.T) {
	owner := RolePermission(RoleOwner)
	viewer := RolePermission(RoleViewer)
	keyRD, err := ParseRoleDescriptors(json.RawMessage(`{"k":{"cluster":["manage_own_api_key"],"indices":[{"names":["logs-*"],"privileges":["read"]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		perm  Permission
		check func(Permission) bool
		want  bool
	}{
		{"owner creates keys", Permission{owner}, func(p Permission) bool { return p.Allows(ActionCreateKey, false) }, true},
		{"viewer cannot create keys", Permission{viewer}, func(p Permission) bool { return p.Allows(ActionCreateKey, true) }, false},
		{"viewer reads keys", Permission{viewer}, func(p Permission) bool { return p.Allows(ActionGetKey, false) }, true},
		{"own-only key on own key", Permission{keyRD, owner}, func(p Permission) bool { return p.Allows(ActionInvalidateKey, true) }, true},
		{"own-only key on other key", Permission{keyRD, owner}, func(p Permission) bool { return p.Allows(ActionInvalidateKey, false) }, false},
		{"key bounded by viewer owner", Permission{keyRD, viewer}, func(p Permission) bool { return p.Allows(ActionCreateKey, true) }, false},
		{"index read within pattern", Permission{keyRD, owner}, func(p Permission) bool { return p.HasIndex("logs-1", "read", false) }, true},
		{"index write refused", Permission{keyRD, owner}, func(p Permission) bool { return p.HasIndex("logs-1", "write", false) }, false},
		{"index outside pattern", Permission{keyRD, owner}, func(p Permission) bool { return p.HasIndex("books", "read", false) }, false},
		{"empty permission allows nothing", Permission{}, func(p Permission) bool { return p.Allows(ActionHealth, false) }, false},
		{"manage excludes security", Permission{{"m": {Cluster: StringList{"manage"}}}}, func(p Permission) bool { return p.Allows(ActionCreateKey, false) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check(tt.perm); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchWildcard(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"*", "anything", true}, {"logs-*", "logs-1", true}, {"logs-*", "log", false}, {"a?c", "abc", true},
		{"*key*", "my-key-1", true}, {"cluster:admin/*", "cluster:admin/xpack/security/api_key/get", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
	} {
		if got := MatchWildcard(tt.p, tt.s); got != tt.want {
			t.Errorf("MatchWildcard(%q, %q) = %v", tt.p, tt.s, got)
		}
	}
}
