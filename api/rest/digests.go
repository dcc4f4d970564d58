package rest

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"

	"github.com/keyplane/keyplane/api/httpx"
	"github.com/keyplane/keyplane/domain"
)

// OperatorSecret names the shared secret (eventlog.Log.SharedSecret) that
// authenticates the operator endpoints. Whoever can read the log can read
// it, and no tenant can: `keyplane replay --server` proves it is the
// operator by holding the log, not by holding a member's password.
const OperatorSecret = "operator-token"

// OperatorToken is how a client presents the operator secret:
// "Authorization: Bearer <OperatorToken(secret)>".
func OperatorToken(secret []byte) string { return base64.RawURLEncoding.EncodeToString(secret) }

// operatorGate checks the operator token, reading the secret from the log
// on first use.
type operatorGate struct {
	mu     sync.Mutex
	secret []byte
}

func (s *keysAPI) checkOperator(r *http.Request) error {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return domain.Unauthenticated("the operator endpoints need the operator token (Authorization: Bearer)")
	}
	g := &s.trail.operator
	g.mu.Lock()
	if g.secret == nil {
		ctx, cancel := httpx.CmdCtx(r)
		secret, err := s.trail.Log.SharedSecret(ctx, OperatorSecret)
		cancel()
		if err != nil {
			g.mu.Unlock()
			return err
		}
		g.secret = secret
	}
	want := OperatorToken(g.secret)
	g.mu.Unlock()
	if subtle.ConstantTimeCompare([]byte(tok), []byte(want)) != 1 {
		return domain.Unauthenticated("wrong operator token")
	}
	return nil
}

// digests answers the sequence the projections have applied and each
// one's digest, taken between two events: `keyplane replay --server`
// rebuilds the same sequence from the log and compares. Digests reveal no
// data, but they are the operator's, not any tenant's.
func (s *keysAPI) digests(w http.ResponseWriter, r *http.Request) {
	if err := s.checkOperator(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	seq, d, err := s.trail.Runner.Digests()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"seq": seq, "digests": d})
}
