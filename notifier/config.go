package notifier

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/mail"
	"strconv"
	"time"

	"github.com/keyplane/keyplane/domain"
	"github.com/robfig/cron/v3"
)

// DefaultSchedule scans every quarter of an hour: the shortest default
// window is a day, so a notice is never more than 15 minutes late.
const DefaultSchedule = "@every 15m"

// Config is what the notifier can be told. The zero value scans every 15
// minutes with windows 30d, 7d and 1d, and sends nothing (no SMTP server).
type Config struct {
	// Schedule is a cron spec: 5 fields (minute first), 6 fields (seconds
	// first) or a descriptor such as "@hourly" or "@every 1m". Times are UTC.
	Schedule string
	// Windows are how long before expiry notices go out.
	Windows []domain.NoticeWindow
	SMTP    SMTP
	// MaxAttempts bounds the deliveries of one notice before its remaining
	// recipients are given up on (NoticeFailed). Default 12.
	MaxAttempts int
	// RetryBase and RetryMax shape the exponential backoff between
	// attempts. Defaults 30s and 1h: twelve attempts span about six hours.
	RetryBase, RetryMax time.Duration
	Logger              *slog.Logger
	Now                 func() time.Time
}

// SMTP is the mail server notices go through.
type SMTP struct {
	// Addr is host:port; empty means notices are recorded but not sent.
	Addr string
	// From is the sender, "keyplane <noreply@example.com>" or a bare address.
	From           string
	User, Password string
	// StartTLS requires STARTTLS before anything else is said (and before
	// credentials are sent). Without it the conversation is plain text.
	StartTLS bool
	// TLSConfig verifies the server for STARTTLS; nil uses the system's
	// roots and the host name of Addr.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each command. Default 30s.
	Timeout time.Duration
}

// Enabled reports whether a mail server is configured.
func (s SMTP) Enabled() bool { return s.Addr != "" }

// WithDefaults fills in what was left out.
func (c Config) WithDefaults() Config {
	if c.Schedule == "" {
		c.Schedule = DefaultSchedule
	}
	if len(c.Windows) == 0 {
		c.Windows = domain.DefaultNoticeWindows
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 12
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 30 * time.Second
	}
	if c.RetryMax < c.RetryBase {
		c.RetryMax = max(time.Hour, c.RetryBase)
	}
	if c.SMTP.Timeout <= 0 {
		c.SMTP.Timeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first setting that cannot work, in words for the
// command line.
func (c Config) Validate() error {
	if _, err := ParseSchedule(c.Schedule); err != nil {
		return err
	}
	if !c.SMTP.Enabled() {
		return nil
	}
	host, port, err := net.SplitHostPort(c.SMTP.Addr)
	if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p <= 0 || p > 65535 {
		return domain.Invalid("SMTP address [%s] must be host:port", c.SMTP.Addr)
	}
	if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
		return domain.Invalid("SMTP sender [%s] must be an email address (--smtp-from)", c.SMTP.From)
	}
	return nil
}

// parser accepts standard 5-field specs, 6 fields with seconds first, and
// descriptors (@hourly, @every 1m).
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule checks a cron spec.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, domain.Invalid("notify schedule [%s]: %v", spec, err)
	}
	return s, nil
}
