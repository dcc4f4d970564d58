package authn

import (
	"context"

	"github.com/keyplane/keyplane/domain"
)

// Access is who a request of the Elasticsearch surface acts as, and in
// which project (each project is its own "cluster").
type Access struct {
	// Caller is who the credentials authenticated; Principal is whom the
	// request acts for: the caller, or the user it runs as.
	Caller, Principal domain.Principal
	Org               *domain.Org
	Project           *domain.Project
	// Roles and Missing are the principal's role names, for denial
	// messages.
	Roles, Missing []string
}

// Project authenticates a request of the Elasticsearch surface in the
// project its path names (r.Project; "" is "/"). A credential of another
// project (or organization) is unknown here: 401, as a key of another
// Elasticsearch cluster would be. With r.RunAs, the request runs as that
// user of the project; when that is refused, the Access returned with the
// error still holds the Caller.
func (a *Authenticator) Project(ctx context.Context, r Request) (Access, error) {
	var x Access
	// The project is looked up, but an unknown one is not told apart
	// before the credential is checked: a caller without valid
	// credentials gets the same 401 for an unknown project as for another
	// tenant's, and no answer names a project it cannot see.
	if r.Project != "" {
		x.Org, x.Project, _ = a.FindProject(r.Project)
	}
	c := Parse(r.Authorization)
	if c.Scheme == NoCredentials {
		return Access{}, missing(r.Path)
	}
	if err := a.fresh(); err != nil {
		return Access{}, err
	}
	var err error
	switch c.Scheme {
	case APIKey:
		err = a.projectKey(&x, r, c.Value)
	case Basic:
		err = a.projectBasic(ctx, &x, r, c)
	case Bearer:
		err = a.projectBearer(&x, r, c.Value)
	default:
		if c.Name == "" {
			return Access{}, missing(r.Path)
		}
		err = unsupported(c.Name)
	}
	if err != nil {
		return Access{}, err
	}
	x.Caller = x.Principal
	if r.RunAs != "" {
		// Elasticsearch's run_as: the request runs with the named user's
		// rights, if the caller's run_as privileges name it; never
		// ignored, or the caller would act with its own, larger rights.
		if x.Principal, err = a.RunAs(x.Org, x.Project, x.Principal, r.RunAs); err != nil {
			return Access{Caller: x.Caller}, err
		}
		x.Roles, x.Missing = a.RoleNames(x.Org, x.Project, x.Principal)
	}
	return x, nil
}

// FindProject resolves {project}: a project id of any organization, or
// else a project name of the "default" organization. Ids come first, so
// that no project of "default" can be named into another organization's
// address.
func (a *Authenticator) FindProject(ref string) (*domain.Org, *domain.Project, bool) {
	if o, pr, ok := a.dir.Project(domain.ProjectID(ref)); ok {
		return o, pr, true
	}
	if def, ok := a.dir.Org("default"); ok {
		if pr, ok := def.ProjectNamed(ref); ok {
			return def, pr, true
		}
	}
	return nil, nil, false
}

// defaultProject is where "/" acts: project "default" of organization t,
// or of organization "default".
func (a *Authenticator) defaultProject(t domain.TenantID) (*domain.Org, *domain.Project, error) {
	ref := string(t)
	if ref == "" {
		ref = "default"
	}
	if o, ok := a.dir.Org(ref); ok {
		if pr, ok := o.ProjectNamed("default"); ok {
			return o, pr, nil
		}
	}
	return nil, nil, domain.NotFound("no default project: use /projects/{project}/")
}

// ownProject is the project a key or token of project pr acts in at "/".
func (a *Authenticator) ownProject(x *Access, t domain.TenantID, pr domain.ProjectID) error {
	o, ok := a.dir.Org(string(t))
	if !ok || o.Projects[pr] == nil {
		return errBadCredentials
	}
	x.Org, x.Project = o, o.Projects[pr]
	return nil
}

// projectKey: at "/" a project key acts in its own project.
func (a *Authenticator) projectKey(x *Access, r Request, cred string) error {
	p, err := a.Key(cred)
	if err != nil {
		return err
	}
	if x.Org == nil && r.Project != "" {
		return errBadCredentials
	}
	if x.Org == nil {
		if p.Scope == domain.ScopeProject {
			err = a.ownProject(x, p.Tenant, p.Project)
		} else {
			x.Org, x.Project, err = a.defaultProject(p.Tenant)
		}
		if err != nil {
			return err
		}
	}
	if !p.InProject(x.Org.ID, x.Project.ID) {
		return errBadCredentials
	}
	x.Principal = p
	return nil
}

// projectBasic: a member of the project's organization, else a user of the
// project's realm.
func (a *Authenticator) projectBasic(ctx context.Context, x *Access, r Request, c Credentials) error {
	name, pw, err := c.BasicAuth()
	if err != nil {
		return err
	}
	if x.Org == nil && r.Project != "" {
		// An unknown project answers, and costs, as a project that has
		// nobody of that name (projectPassword).
		_, err := a.CheckPassword(ctx, ProjectUserSubject("", domain.ProjectID(r.Project), name), r.Addr, func() (domain.Principal, error) {
			a.logins.SpendCheck(pw)
			return domain.Principal{}, unknownHere(r.Path, name)
		})
		return err
	}
	if x.Org == nil {
		if x.Org, x.Project, err = a.defaultProject(""); err != nil {
			return err
		}
	}
	if x.Principal, err = a.ProjectPassword(ctx, r, x.Org, x.Project, name, pw); err != nil {
		return err
	}
	x.Roles, x.Missing = a.RoleNames(x.Org, x.Project, x.Principal)
	return nil
}

// ProjectPassword checks a user name and password in a project, under the
// password throttle: the organization's members first, then the project's
// own users. r gives the source address and the path.
func (a *Authenticator) ProjectPassword(ctx context.Context, r Request, o *domain.Org, pr *domain.Project, name, pw string) (domain.Principal, error) {
	p, err := a.CheckPassword(ctx, a.esSubject(o, pr, name), r.Addr, func() (domain.Principal, error) { return a.projectPassword(r, o, pr, name, pw) })
	if domain.KindOf(err) == domain.KindUnauthenticated {
		// One answer for every failed password, whoever the name is here:
		// a member, a project user, a disabled one or nobody. Names are
		// the tenant's to know.
		err = unknownHere(r.Path, name)
	}
	return p, err
}

func (a *Authenticator) projectPassword(r Request, o *domain.Org, pr *domain.Project, name, pw string) (domain.Principal, error) {
	if _, member := a.dir.RoleOf(o.ID, name); member {
		// A project user never shadows a member's login: a name that is a
		// member of the organization is the member's, here too. (A project
		// user cannot be created under such a name; one that came first
		// is reached by its tokens and keys, not by Basic.) One name is
		// one principal, so the throttle counts it exactly (esSubject).
		return a.logins.Authenticate(name, pw)
	}
	p, known, err := a.logins.AuthenticateProjectUser(o.ID, pr.ID, name, pw)
	if known {
		return p, err
	}
	// Nobody of that name here. A login of another organization is not
	// checked: its password is not this project's business, and checking
	// it would give a guesser a fresh budget in every project. The cost
	// of a check is spent all the same.
	a.logins.SpendCheck(pw)
	return domain.Principal{}, unknownHere(r.Path, name)
}

// unknownHere is the 401 of a user whose credentials hold nowhere in the
// project asked for: it names only what the caller sent.
func unknownHere(path, name string) error {
	return domain.Unauthenticated("unable to authenticate user [%s] for REST request [%s]", name, path)
}

// projectBearer accepts the access tokens of /_security/oauth2/token.
func (a *Authenticator) projectBearer(x *Access, r Request, cred string) error {
	t, err := a.ReadToken(cred)
	if err != nil {
		return err
	}
	if x.Org == nil && r.Project != "" {
		return errBadCredentials
	}
	if x.Org == nil {
		if err := a.ownProject(x, t.Tenant, t.Project); err != nil {
			return err
		}
	}
	if x.Org.ID != t.Tenant || x.Project.ID != t.Project {
		return errBadCredentials
	}
	p, ok := a.TokenUser(x.Org, x.Project, t)
	if !ok {
		return domain.Unauthenticated("token malformed or expired")
	}
	x.Principal = p
	x.Roles, x.Missing = a.RoleNames(x.Org, x.Project, p)
	return nil
}

// TokenPrincipal is the user a live access token acts for in project pr.
func (a *Authenticator) TokenPrincipal(o *domain.Org, pr *domain.Project, tok string) (domain.Principal, error) {
	t, err := a.ReadToken(tok)
	if err != nil {
		return domain.Principal{}, err
	}
	p, ok := a.TokenUser(o, pr, t)
	if !ok {
		return domain.Principal{}, domain.Unauthenticated("token malformed or expired")
	}
	return p, nil
}

// RunAsAction names run_as in denials, as Elasticsearch does.
const RunAsAction = "indices:data/read/run_as"

// RunAs is the principal p may run as in project pr: a user of the
// project's own realm that p's run_as privileges name. Members are never
// reached: a project-local superuser must not act, or mint keys, as the
// organization's owner.
func (a *Authenticator) RunAs(o *domain.Org, pr *domain.Project, p domain.Principal, name string) (domain.Principal, error) {
	target, ok := a.User(o, pr, name, domain.RealmProject)
	if !ok || !p.PermissionIn(o.ID).AllowsRunAs(name) {
		return domain.Principal{}, domain.Forbidden("action [%s] is unauthorized for user [%s] run as [%s]", RunAsAction, p.User, name)
	}
	return target, nil
}

// RoleNames are a principal's roles as denial messages name them.
func (a *Authenticator) RoleNames(o *domain.Org, pr *domain.Project, p domain.Principal) (roles, missing []string) {
	switch {
	case p.Kind == domain.ActorKey:
		return nil, nil
	case p.Realm == domain.RealmProject:
		_, roles, missing, _ = a.realms.Principal(o.ID, pr.ID, p.User)
		return roles, missing
	}
	if role, ok := p.Memberships[o.ID]; ok {
		return []string{string(role)}, nil
	}
	return nil, nil
}
