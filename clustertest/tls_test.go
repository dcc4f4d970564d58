package clustertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/testproc"
)

// TestMutualTLS runs keyplane against a nats-server that demands TLS and a
// client certificate signed by its CA: with --nats-tls-ca, --nats-tls-cert
// and --nats-tls-key it serves; without the certificate it cannot start.
func TestMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a nats-server and keyplane")
	}
	pki := newPKI(t)
	nats := testproc.StartCluster(t, testproc.ClusterOptions{Nodes: 1, SyncAlways: true,
		TLS: &testproc.ServerTLS{Cert: pki.serverCert, Key: pki.serverKey, CA: pki.ca}})
	url := nats.ClientURLs()

	r := testproc.StartReplica(t, "keyplane-tls", "--nats-url", url, "--data-dir", t.TempDir(),
		"--nats-tls-ca", pki.ca, "--nats-tls-cert", pki.clientCert, "--nats-tls-key", pki.clientKey)
	k, ans, err := create(t.Context(), r.URL(), "over-tls")
	if err != nil || ans.status != http.StatusCreated {
		t.Fatalf("create over TLS: %v %s", err, ans.raw)
	}
	must(t, "GET", r.URL()+"/api/v1/whoami", "ApiKey "+k.encoded, nil, http.StatusOK)

	p := testproc.StartKeyplane(t, "keyplane-no-cert", "serve", "--addr", "127.0.0.1:0", "--nats-url", url,
		"--data-dir", t.TempDir(), "--nats-tls-ca", pki.ca)
	select {
	case <-p.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("keyplane without a client certificate did not give up")
	}
	t.Logf("without a client certificate: %.300s", p.Tail())
	// A failure, and the TLS one: not some other reason to give up.
	if code := p.ExitCode(); code == 0 || !strings.Contains(p.Tail(), "tls") {
		t.Fatalf("keyplane without a client certificate exited %d without a TLS error", code)
	}
}

// pki is a CA and the PEM files of a server and a client certificate.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keyplane test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := pki{ca: writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)}
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (cert, key string) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(k)
		return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	p.serverCert, p.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
