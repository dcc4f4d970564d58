package domain

// The Elasticsearch-compatible surface gives every project its own native
// realm (package esrealm holds its model: users, roles, application
// privileges). The names below stay here because the principal, the key's
// owner and the authority use them; AggRealm is the realm aggregate's
// subject name, which the log's readers know without the model.
//
// Realm names as Elasticsearch reports them:
//   - RealmProject ("default_native", type "native"): the project's users;
//   - RealmMembers ("native"): keyplane's organization members, the logins
//     of the console, who act in every project of their organization;
//   - RealmAPIKey ("_es_api_key"): a key authenticated the request, or
//     created the key (derived keys).
const (
	AggRealm = "esrealm"

	RealmProject = "default_native"
	RealmMembers = "native"
	RealmAPIKey  = "_es_api_key"
)

// RealmType is the type Elasticsearch shows beside a realm name.
func RealmType(name string) string {
	if name == RealmProject {
		return "native"
	}
	return name
}

// Actions of the Elasticsearch-compatible surface, named as Elasticsearch
// names them so that role descriptors mean the same thing here.
const (
	ActionPutUser          = "cluster:admin/xpack/security/user/put"
	ActionDeleteUser       = "cluster:admin/xpack/security/user/delete"
	ActionGetUser          = "cluster:admin/xpack/security/user/get"
	ActionPutRole          = "cluster:admin/xpack/security/role/put"
	ActionDeleteRole       = "cluster:admin/xpack/security/role/delete"
	ActionGetRole          = "cluster:admin/xpack/security/role/get"
	ActionPutPrivileges    = "cluster:admin/xpack/security/privilege/put"
	ActionDeletePrivileges = "cluster:admin/xpack/security/privilege/delete"
	ActionGetPrivileges    = "cluster:admin/xpack/security/privilege/get"
	ActionBulkUpdateKeys   = "cluster:admin/xpack/security/api_key/bulk_update"
	ActionBulkGrantKeys    = "cluster:admin/xpack/security/api_key/grant/bulk"
	ActionClearKeyCache    = "cluster:admin/xpack/security/api_key/clear_cache"
	ActionCreateToken      = "cluster:admin/xpack/security/token/create"
	ActionInvalidateToken  = "cluster:admin/xpack/security/token/invalidate"
	ActionMonitorMain      = "cluster:monitor/main"
)

// MinPasswordLen is Elasticsearch's shortest password.
const MinPasswordLen = 6

// CheckPassword validates a new password before it is hashed (hashing is
// slow and random, so it happens outside the decisions).
func CheckPassword(pw string) error {
	if len(pw) < MinPasswordLen {
		return Invalid("Validation Failed: 1: passwords must be at least [%d] characters long;", MinPasswordLen)
	}
	if len(pw) > 256 {
		return Invalid("Validation Failed: 1: passwords must be at most [256] characters long;")
	}
	return nil
}
