package eventlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// operatorServer runs a nats-server in operator mode (decentralized JWT
// auth, as NGS or a production cluster is set up): one account with
// JetStream, and a user of it whose credentials file it returns, with the
// server's client URL.
func operatorServer(t *testing.T) (url, creds string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	operator, err := nkeys.CreateOperator()
	must(err)
	operatorPub, _ := operator.PublicKey()
	operatorClaims := jwt.NewOperatorClaims(operatorPub)
	_, err = operatorClaims.Encode(operator)
	must(err)

	account := func(jetStream bool) (nkeys.KeyPair, string, string) {
		kp, err := nkeys.CreateAccount()
		must(err)
		pub, _ := kp.PublicKey()
		claims := jwt.NewAccountClaims(pub)
		if jetStream {
			claims.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		token, err := claims.Encode(operator)
		must(err)
		return kp, pub, token
	}
	_, sysPub, sysJWT := account(false)
	app, appPub, appJWT := account(true)

	user, err := nkeys.CreateUser()
	must(err)
	userPub, _ := user.PublicKey()
	userJWT, err := jwt.NewUserClaims(userPub).Encode(app)
	must(err)
	seed, _ := user.Seed()
	file, err := jwt.FormatUserConfig(userJWT, seed)
	must(err)
	creds = filepath.Join(t.TempDir(), "keyplane.creds")
	must(os.WriteFile(creds, file, 0o600))

	resolver := &server.MemAccResolver{}
	must(resolver.Store(sysPub, sysJWT))
	must(resolver.Store(appPub, appJWT))
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{operatorClaims},
		SystemAccount:    sysPub,
		AccountResolver:  resolver,
	})
	must(err)
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL(), creds
}

// TestAnExternalServerWithCredentials connects to a server that admits only
// JWT users, with --nats-creds' file, and writes and reads the log; without
// the file the server turns keyplane away, and Open says why.
func TestAnExternalServerWithCredentials(t *testing.T) {
	url, creds := operatorServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	l, err := Open(ctx, Options{URL: url, Logger: quiet})
	if err == nil {
		l.Close()
		t.Fatal("a server in operator mode let keyplane in without credentials")
	}
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("without credentials: %v, want the server's authorization violation", err)
	}

	l, err = Open(ctx, Options{URL: url, CredsFile: creds, Logger: quiet})
	if err != nil {
		t.Fatalf("open with the credentials file: %v", err)
	}
	defer l.Close()
	seqs, err := l.Append(ctx, Append{Event: keyEvent("e1", "k1", domain.KeyInvalidated{}), Expect: 0})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := l.Last(ctx, Subject(keyEvent("", "k1", domain.KeyInvalidated{})))
	if err != nil || ev == nil || ev.ID != "e1" || ev.Seq != seqs[0] {
		t.Fatalf("read back %+v, %v; want e1 at %d", ev, err, seqs[0])
	}
}
