package notifier_test

import (
	"testing"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/notifier"
)

func TestConfigValidate(t *testing.T) {
	smtp := func(addr, from string) notifier.Config {
		return notifier.Config{SMTP: notifier.SMTP{Addr: addr, From: from}}.WithDefaults()
	}
	tests := []struct {
		name string
		cfg  notifier.Config
		ok   bool
	}{
		{"defaults: no SMTP", notifier.Config{}.WithDefaults(), true},
		{"five fields", notifier.Config{Schedule: "*/5 * * * *"}.WithDefaults(), true},
		{"six fields, seconds first", notifier.Config{Schedule: "30 */5 * * * *"}.WithDefaults(), true},
		{"a descriptor", notifier.Config{Schedule: "@hourly"}.WithDefaults(), true},
		{"an interval", notifier.Config{Schedule: "@every 1m"}.WithDefaults(), true},
		{"words", notifier.Config{Schedule: "every minute"}.WithDefaults(), false},
		{"three fields", notifier.Config{Schedule: "* * *"}.WithDefaults(), false},
		{"a bad interval", notifier.Config{Schedule: "@every soon"}.WithDefaults(), false},
		{"SMTP", smtp("mail.example.com:587", "keyplane <noreply@example.com>"), true},
		{"SMTP on a bare address", smtp("127.0.0.1:25", "noreply@example.com"), true},
		{"SMTP without a port", smtp("mail.example.com", "noreply@example.com"), false},
		{"SMTP with a bad port", smtp("mail.example.com:smtp", "noreply@example.com"), false},
		{"SMTP without a sender", smtp("mail.example.com:25", ""), false},
		{"SMTP with a bad sender", smtp("mail.example.com:25", "keyplane"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok != (err == nil) || (err != nil && !domain.IsKind(err, domain.KindInvalid)) {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

func TestNewRefusesABadSchedule(t *testing.T) {
	if _, err := notifier.New(notifier.Config{Schedule: "@never"}, notifier.Deps{}); err == nil {
		t.Fatal("a bad schedule must be refused before anything runs")
	}
}
