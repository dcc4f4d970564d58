package main

import (
	"errors"

	"github.com/keyplane/keyplane/app"
)

// checkClusterFlags refuses cluster settings that cannot work, before
// anything connects.
func checkClusterFlags(c *app.Config) error {
	if c.Replicas < 1 || c.Replicas > 5 {
		return errors.New("--replicas must be from 1 to 5 (JetStream's limit)")
	}
	if (c.NatsTLSCert == "") != (c.NatsTLSKey == "") {
		return errors.New("--nats-tls-cert and --nats-tls-key go together")
	}
	if c.NatsURL == "" && c.Replicas > 1 {
		return errors.New("--replicas above 1 needs a cluster: give its servers with --nats-url")
	}
	return nil
}
