package tenants

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/esrealm"
)

// realmState is one realm as snapshots hold it. JSON is canonical here:
// realms and users are sorted lists and encoding/json sorts map keys.
type realmState struct {
	Tenant     domain.TenantID                            `json:"tenant"`
	Project    domain.ProjectID                           `json:"project"`
	Users      []realmUserState                           `json:"users"`
	Roles      map[string]domain.RoleDescriptor           `json:"roles"`
	Privileges map[string]map[string]esrealm.AppPrivilege `json:"privileges"`
	Updated    time.Time                                  `json:"updated"`
	Seq        uint64                                     `json:"seq"`
}

// realmUserState keeps the password hash that views never show; the log
// holds it too.
type realmUserState struct {
	esrealm.RealmUser
	PasswordHash string `json:"password_hash"`
	Since        uint64 `json:"since"`
}

// Name of the realms in snapshots and digests.
func (rs *Realms) Name() string { return "esrealms@2" }

// Snapshot encodes every realm canonically.
func (rs *Realms) Snapshot() ([]byte, error) {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	out := make([]realmState, 0, len(rs.realms))
	for _, r := range rs.realms {
		s := realmState{Tenant: r.Tenant, Project: r.Project, Roles: r.Roles, Privileges: r.Privileges, Updated: r.Updated, Seq: r.Seq}
		for _, u := range r.Users {
			s.Users = append(s.Users, realmUserState{RealmUser: u, PasswordHash: u.PasswordHash, Since: u.Since})
		}
		sort.Slice(s.Users, func(i, j int) bool { return s.Users[i].Name < s.Users[j].Name })
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Project < out[j].Project })
	return json.Marshal(out)
}

// Restore replaces the realms with a snapshot's.
func (rs *Realms) Restore(b []byte) error {
	var in []realmState
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	fresh := map[domain.ProjectID]*esrealm.Realm{}
	for _, s := range in {
		r := esrealm.NewRealm(s.Tenant, s.Project)
		for _, u := range s.Users {
			u.RealmUser.PasswordHash, u.RealmUser.Since = u.PasswordHash, u.Since
			r.Users[u.Name] = u.RealmUser
		}
		for n, rd := range s.Roles {
			r.Roles[n] = rd
		}
		for app, privs := range s.Privileges {
			r.Privileges[app] = privs
		}
		r.Updated, r.Seq = s.Updated, s.Seq
		fresh[s.Project] = r
	}
	rs.mu.Lock()
	rs.realms = fresh
	rs.mu.Unlock()
	return nil
}
