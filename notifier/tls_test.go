package notifier_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testsmtp"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestSMTPAuthWithAndWithoutSTARTTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	tests := []struct {
		name     string
		starttls bool
	}{
		{"plain text, as to a local relay", false},
		{"STARTTLS", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			box := testsmtp.New(t)
			// With TLS configured the server refuses AUTH before STARTTLS, so a
			// login proves the conversation was encrypted.
			box.Auth = "keyplane:s3cret"
			if tt.starttls {
				box.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
			}
			box.Start()
			c := newClock()
			cfg := smtpTo(box)
			cfg.SMTP.User, cfg.SMTP.Password, cfg.SMTP.StartTLS = "keyplane", "s3cret", tt.starttls
			if tt.starttls {
				cfg.SMTP.TLSConfig = &tls.Config{RootCAs: pool}
			}
			e := startApp(t, options{clock: c, notify: cfg})
			e.withCarol()
			e.createKey("k", "2d")
			e.scan(c)
			e.settled()
			wantTally(t, box.Mails(), "7d")
			if logins := box.Logins(); len(logins) != 1 || logins[0] != "keyplane" {
				t.Fatalf("logins: %v (one session for both recipients)", logins)
			}
		})
	}
}
