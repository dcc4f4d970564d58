package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestServeRefusesClusterFlagsThatCannotWork(t *testing.T) {
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"no replicas", []string{"--nats-url", "nats://127.0.0.1:1", "--replicas", "0"}, "--replicas"},
		{"more replicas than JetStream allows", []string{"--nats-url", "nats://127.0.0.1:1", "--replicas", "6"}, "--replicas"},
		{"replicas of an embedded server", []string{"--replicas", "3"}, "--nats-url"},
		{"certificate without its key", []string{"--nats-url", "tls://127.0.0.1:1", "--nats-tls-cert", "c.pem"}, "--nats-tls-key"},
		{"key without its certificate", []string{"--nats-url", "tls://127.0.0.1:1", "--nats-tls-key", "k.pem"}, "--nats-tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := Main(context.Background(), append([]string{"serve"}, tt.args...), &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2 (%s)", code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.says) {
				t.Fatalf("the refusal does not name %s: %s", tt.says, errb.String())
			}
		})
	}
}
