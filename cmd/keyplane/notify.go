package main

import (
	"flag"
	"strings"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/notifier"
)

// notifyFlags registers the expiry notifier's flags on fs. The schedule
// and windows are checked as they are parsed; the SMTP settings together
// when the notifier starts.
func notifyFlags(fs *flag.FlagSet, c *notifier.Config) {
	c.Schedule = notifier.DefaultSchedule
	fs.Func("notify-schedule", `when to scan for expiring keys: cron spec, 5 fields, 6 with seconds first, or a descriptor such as "@every 1m" (UTC; default "`+notifier.DefaultSchedule+`")`,
		func(s string) error {
			if _, err := notifier.ParseSchedule(s); err != nil {
				return err
			}
			c.Schedule = s
			return nil
		})
	c.Windows = domain.DefaultNoticeWindows
	fs.Func("notify-windows", `how long before expiry to email, comma-separated (default "`+windowNames(domain.DefaultNoticeWindows)+`")`,
		func(s string) error {
			ws, err := domain.ParseNoticeWindows(s)
			if err != nil {
				return err
			}
			c.Windows = ws
			return nil
		})
	fs.StringVar(&c.SMTP.Addr, "smtp-addr", env("KEYPLANE_SMTP_ADDR", ""), "SMTP server host:port for expiry emails; empty records notices and sends them once one is set ($KEYPLANE_SMTP_ADDR)")
	fs.StringVar(&c.SMTP.From, "smtp-from", env("KEYPLANE_SMTP_FROM", ""), "sender of expiry emails, e.g. \"keyplane <noreply@example.com>\" ($KEYPLANE_SMTP_FROM)")
	fs.StringVar(&c.SMTP.User, "smtp-user", env("KEYPLANE_SMTP_USER", ""), "SMTP AUTH PLAIN user, if the server wants one ($KEYPLANE_SMTP_USER)")
	c.SMTP.Password = env("KEYPLANE_SMTP_PASSWORD", "")
	fs.Var(secret{&c.SMTP.Password}, "smtp-password", "SMTP password; prefer $KEYPLANE_SMTP_PASSWORD, which ps does not show")
	fs.BoolVar(&c.SMTP.StartTLS, "smtp-starttls", false, "require STARTTLS before anything (and any password) is sent")
}

func windowNames(ws []domain.NoticeWindow) string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.String()
	}
	return strings.Join(names, ",")
}

// secret is a string flag that never shows its value: -h prints a flag's
// default, and the default of --smtp-password comes from the environment.
type secret struct{ p *string }

func (s secret) Set(v string) error { *s.p = v; return nil }
func (s secret) String() string     { return "" }
