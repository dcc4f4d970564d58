package tenants

import (
	"github.com/keyplane/keyplane/domain"
)

// Logins checks passwords: the organizations' members (the console's
// users) against the Directory, and the projects' own users against their
// realm. It reads only; the commands that set passwords are in commands.
type Logins struct {
	dir    *Directory
	realms *Realms
	// Recent successful checks, one cache per kind of user.
	members, projectUsers passwordCache
}

// NewLogins checks the passwords of dir's users and of realms' users.
func NewLogins(dir *Directory, realms *Realms) *Logins {
	return &Logins{dir: dir, realms: realms}
}

// Authenticate checks a member's name and password. A login an owner forced
// to reset its password is refused (403) until it changes it.
func (s *Logins) Authenticate(name, password string) (domain.Principal, error) {
	p, err := s.AuthenticateForPasswordChange(name, password)
	if err == nil {
		if u, ok := s.dir.User(name); ok && u.MustChangePassword {
			return domain.Principal{}, ErrMustChangePassword(name)
		}
	}
	return p, err
}

// ErrMustChangePassword is the answer to a login under a forced reset.
func ErrMustChangePassword(name string) error {
	return domain.Forbidden("user [%s] must change its password first: PUT /api/v1/users/_password {\"current_password\",\"password\"}", name)
}

// AuthenticateForPasswordChange checks a name and password, also for a
// login under a forced reset: the password change is what it may do.
func (s *Logins) AuthenticateForPasswordChange(name, password string) (domain.Principal, error) {
	u, ok := s.dir.User(name)
	if !ok || !s.members.check(u.PasswordHash, password) {
		if !ok {
			// Spend the same time as a real check so that names cannot be probed.
			s.members.check(dummyHash, password)
		}
		return domain.Principal{}, domain.Unauthenticated("unable to authenticate user [%s]", name)
	}
	return s.dir.Member(name), nil
}

// dummyHash is what a check for a name that is not here compares the
// password with: a hash of the current parameters (argonMemory, argonTime,
// argonThreads) of 32 random bytes nobody kept, so that no password
// matches it and a check costs what a real one costs
// (TestTheDummyHashCostsWhatAPasswordCheckCosts). A constant: computing
// one at start spent 20 ms of CPU and 19 MiB of fresh memory before
// anything else could run.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$DbUGkr5TXzEKUGS7OAS9cQ$DpnzRNbGWMv9xgVcF37kGPutqDX5/cH453ZYND88+74"

// SpendCheck costs what a password check costs and checks nothing: a name
// that cannot be here is answered as slowly as one that can.
func (s *Logins) SpendCheck(password string) { CheckPassword(dummyHash, password) }

// AuthenticateProjectUser checks a project-local user's password. known
// says whether the project has a user of that name at all (if not, the
// caller may try the organization's members).
func (s *Logins) AuthenticateProjectUser(t domain.TenantID, pr domain.ProjectID, name, password string) (p domain.Principal, known bool, err error) {
	u, ok := s.realms.User(t, pr, name)
	if !ok {
		return domain.Principal{}, false, nil
	}
	if !s.projectUsers.check(u.PasswordHash, password) {
		return domain.Principal{}, true, domain.Unauthenticated("unable to authenticate user [%s] for REST request", name)
	}
	p, _, _, ok = s.realms.Principal(t, pr, name)
	if !ok {
		return domain.Principal{}, true, domain.Unauthenticated("unable to authenticate user [%s]: the user is disabled", name)
	}
	return p, true, nil
}
