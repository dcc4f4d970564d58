package tenants

import (
	"encoding/json"
	"sort"

	"github.com/keyplane/keyplane/domain"
)

// dirState is the directory as snapshots hold it. JSON is canonical here:
// lists are sorted and encoding/json sorts map keys, so equal directories
// encode to equal bytes, which is what the digest relies on. (Organizations
// and logins number in the thousands, not millions: JSON is fast enough.)
type dirState struct {
	Orgs       []*domain.Org              `json:"orgs"`
	OrgByName  map[string]domain.TenantID `json:"org_by_name"`
	Users      []*domain.User             `json:"users"`
	NameClaims map[string]domain.TenantID `json:"name_claims"`
}

// Name of the directory in snapshots and digests.
func (d *Directory) Name() string { return "directory@2" }

// Snapshot encodes the directory canonically. It holds the logins'
// argon2id hashes, as the log itself does.
func (d *Directory) Snapshot() ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s := dirState{OrgByName: d.orgByName, NameClaims: d.nameClaims}
	for _, o := range d.orgs {
		s.Orgs = append(s.Orgs, o)
	}
	for _, u := range d.users {
		s.Users = append(s.Users, u)
	}
	sort.Slice(s.Orgs, func(i, j int) bool { return s.Orgs[i].ID < s.Orgs[j].ID })
	sort.Slice(s.Users, func(i, j int) bool { return s.Users[i].Name < s.Users[j].Name })
	return json.Marshal(s)
}

// Restore replaces the directory with a snapshot's.
func (d *Directory) Restore(b []byte) error {
	var s dirState
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	fresh := NewDirectory()
	for _, o := range s.Orgs {
		if o.Projects == nil {
			o.Projects = map[domain.ProjectID]*domain.Project{}
		}
		if o.Members == nil {
			o.Members = map[string]domain.Role{}
		}
		if o.MemberEmails == nil {
			o.MemberEmails = map[string]string{}
		}
		if o.Invitations == nil {
			o.Invitations = map[string]*domain.Invitation{}
		}
		if o.MemberSince == nil {
			o.MemberSince = map[string]uint64{}
		}
		fresh.orgs[o.ID] = o
		fresh.indexProjects(o)
		fresh.indexInvitations(o)
	}
	for _, u := range s.Users {
		fresh.users[u.Name] = u
	}
	for k, v := range s.OrgByName {
		fresh.orgByName[k] = v
	}
	for k, v := range s.NameClaims {
		fresh.nameClaims[k] = v
	}
	d.mu.Lock()
	d.orgs, d.orgByName, d.users, d.nameClaims, d.projectOrg = fresh.orgs, fresh.orgByName, fresh.users, fresh.nameClaims, fresh.projectOrg
	d.invitations = fresh.invitations
	d.mu.Unlock()
	return nil
}
