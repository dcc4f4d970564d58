package domain

import "time"

// AggSession is a console session that was ended: kp._sys.session.<hash>,
// where hash is the hex SHA-256 of the session id. The id is never written:
// it is part of a bearer cookie.
const AggSession = "session"

// SessionEnded v1: a signed bearer credential was ended before its expiry:
// a console session (logout) or an Elasticsearch OAuth2 access token
// (invalidate token). Every replica refuses it from then on, until it
// would have expired anyway; after that the entry is forgotten.
type SessionEnded struct {
	Session string    `json:"session"` // hex SHA-256 of the session id or token
	Kind    string    `json:"kind"`    // SessionConsole or SessionToken
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

// Kinds of ended sessions.
const (
	SessionConsole = "console"
	SessionToken   = "oauth2_token"
)

func (SessionEnded) EventType() string { return "SessionEnded" }
func (SessionEnded) EventVersion() int { return 1 }

func init() { register(SessionEnded{}) }

// ValidSessionHash is what SessionEnded.Session must look like.
func ValidSessionHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
