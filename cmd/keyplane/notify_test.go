package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestNotifyFlagsRefuseWhatCannotWork runs serve with bad notifier settings:
// each is refused with a message naming it, before anything starts.
func TestNotifyFlagsRefuseWhatCannotWork(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a schedule that does not parse", []string{"--notify-schedule", "every minute"}, 2, "notify-schedule"},
		{"a window of zero", []string{"--notify-windows", "30d,0d"}, 2, "notice window [0d]"},
		{"a window in seconds", []string{"--notify-windows", "90s"}, 2, "notice window [90s]"},
		{"an SMTP address without a port", []string{"--smtp-addr", "mail.example.com", "--smtp-from", "k@example.com"}, 1, "host:port"},
		{"an SMTP server without a sender", []string{"--smtp-addr", "127.0.0.1:25"}, 1, "--smtp-from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}, tt.args...)
			code := Main(context.Background(), args, &out, &errOut)
			if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut.String())
			}
		})
	}
}

func TestHelpDoesNotShowTheSMTPPassword(t *testing.T) {
	t.Setenv("KEYPLANE_SMTP_PASSWORD", "hunter2")
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"serve", "-h"}, &out, &errOut); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(errOut.String()+out.String(), "hunter2") || !strings.Contains(errOut.String(), "smtp-password") {
		t.Fatalf("help:\n%s", errOut.String())
	}
}
