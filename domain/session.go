package domain

import "time"

// AggSession is a console session that was ended: kp._sys.session.<hash>,
// where hash is the hex SHA-256 of the session id. The id is never written:
// it is part of a bearer cookie.
const AggSession = "session"

// SessionEnded v1: a member logged out of the console. Every replica
// refuses the session's cookie from then on, until it would have expired
// anyway; after that the entry is forgotten.
type SessionEnded struct {
	Session string    `json:"session"` // hex SHA-256 of the session id
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

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
