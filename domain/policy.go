package domain

import (
	"strconv"
	"strings"
	"time"
)

// KeyPolicy is an organization's rules for its keys (issue 23): the
// expiration a key gets when its creator names none, the longest one it
// may be given, whether it may never expire, how many may be active at
// once, and the longest overlap of a rotation. The zero value is no
// policy: everything behaves as before policies existed.
//
// Durations are kept as their owner wrote them ("90d"), checked by
// DecideSetKeyPolicy, and read with the expiration syntax when used.
type KeyPolicy struct {
	DefaultExpiration string `json:"default_expiration,omitempty"`
	MaxExpiration     string `json:"max_expiration,omitempty"`
	// AllowNever nil: not set (never is allowed, as before policies).
	AllowNever    *bool  `json:"allow_never,omitempty"`
	MaxActiveKeys int    `json:"max_active_keys,omitempty"`
	MaxGrace      string `json:"max_grace,omitempty"`
}

// Policy bounds, checked by DecideSetKeyPolicy (the README's Policy
// section lists them; change both together).
const (
	// MinPolicyLifetime is the shortest default or maximum expiration:
	// shorter, keys would expire before anyone could use them.
	MinPolicyLifetime = time.Hour
	// MaxPolicyActiveKeys bounds max_active_keys.
	MaxPolicyActiveKeys = 1_000_000
	// MaxPolicyGrace bounds max_grace: a rotation's old key lives at most
	// a year past its successor's birth.
	MaxPolicyGrace = 365 * 24 * time.Hour
)

// Surface is where a create comes from: it chooses the default expiration
// when the organization's policy names none.
type Surface int

const (
	// SurfaceConsole: keyplane's and Elastic Cloud's default, three months.
	SurfaceConsole Surface = iota
	// SurfaceElasticsearch: Elasticsearch's default, never.
	SurfaceElasticsearch
)

// NeverAllowed reports whether the policy lets a key never expire (the
// server's --allow-never-expiring is asked separately: it is the ceiling).
func (p KeyPolicy) NeverAllowed() bool { return p.AllowNever == nil || *p.AllowNever }

// maxLifetime is max_expiration as a duration; ok is false when unset.
func (p KeyPolicy) maxLifetime() (time.Duration, bool) {
	if p.MaxExpiration == "" {
		return 0, false
	}
	d, ok := parseDuration(p.MaxExpiration)
	return d, ok
}

// Expiration is the one place a key's expiration is decided, for every
// create, update and rotation on every surface: requested as the client
// gave it ("" for none), the organization's policy, the surface's default
// and the server's ceiling on never (--allow-never-expiring).
//
// A missing expiration never fails: it takes default_expiration, or else
// the surface's default (three months; never on the Elasticsearch
// surface), where never becomes three months when never is not allowed,
// and a default beyond max_expiration becomes max_expiration. An explicit
// never where it is not allowed, or an expiration past max_expiration, is
// refused naming the limit.
func (p KeyPolicy) Expiration(requested string, now time.Time, s Surface, serverNever bool) (Expiration, error) {
	requested = strings.TrimSpace(requested)
	if requested == "" && p.DefaultExpiration != "" {
		requested = p.DefaultExpiration
	}
	if requested == "" {
		return p.surfaceDefault(now, s, serverNever), nil
	}
	if strings.EqualFold(requested, "never") {
		switch {
		case !serverNever:
			return Expiration{}, Invalid("expiration [never] is not allowed on this server (--allow-never-expiring=false)")
		case !p.NeverAllowed():
			return Expiration{}, Invalid("expiration [never] is not allowed by the organization's key policy (allow_never: false)")
		}
		return Expiration{}, nil
	}
	e, err := ParseExpiration(requested, now, serverNever)
	if err != nil {
		return e, err
	}
	if max, ok := p.maxLifetime(); ok && e.At.Sub(now) > max {
		return Expiration{}, Invalid("expiration [%s] is beyond the organization's maximum of [%s] (max_expiration)", requested, p.MaxExpiration)
	}
	return e, nil
}

// surfaceDefault is the expiration of a key whose creator named none, when
// the policy has no default_expiration.
func (p KeyPolicy) surfaceDefault(now time.Time, s Surface, serverNever bool) Expiration {
	max, bounded := p.maxLifetime()
	if s == SurfaceElasticsearch && serverNever && p.NeverAllowed() && !bounded {
		return Expiration{}
	}
	d := DefaultKeyLifetime
	if bounded && max < d {
		d = max
	}
	return Expiration{At: now.Add(d).UTC()}
}

// Exceeds reports whether key k, as it is at now, is outside the policy:
// it is active and no create or update today could give it the
// expiration it has (never where never is not allowed, or later than
// max_expiration from now). Such keys keep working; their views say so.
func (p KeyPolicy) Exceeds(k *Key, now time.Time) bool {
	if k.Status(now) != StatusActive {
		return false
	}
	if k.Expires.IsZero() {
		return !p.NeverAllowed()
	}
	max, ok := p.maxLifetime()
	return ok && k.Expires.Sub(now) > max
}

// CheckActiveKeys refuses a create of adding keys when the organization
// already has active of them and a max_active_keys limit they would pass.
// It is a conflict (409), not a throttle (429): waiting does not help,
// revoking keys or raising the limit does, and clients retry a 429 on
// their own.
func (p KeyPolicy) CheckActiveKeys(active, adding int) error {
	if p.MaxActiveKeys > 0 && active+adding > p.MaxActiveKeys {
		return Conflict("the organization has %d active api keys and its key policy allows at most %d (max_active_keys): revoke keys or raise the limit", active, p.MaxActiveKeys)
	}
	return nil
}

// CheckGrace refuses a rotation's grace (the old key's overlap) longer
// than max_grace.
func (p KeyPolicy) CheckGrace(grace time.Duration) error {
	if max, ok := p.maxGrace(); ok && grace > max {
		return Invalid("grace [%s] is beyond the organization's maximum of [%s] (max_grace)", formatDuration(grace), p.MaxGrace)
	}
	return nil
}

// maxGrace is the policy's max_grace, when it sets one.
func (p KeyPolicy) maxGrace() (time.Duration, bool) { return parseDuration(p.MaxGrace) }

// defaultGrace is the grace of a rotation that names none: a day, or
// max_grace when that is shorter (as a missing expiration takes
// max_expiration when the default is beyond it). A service rotating
// itself without a grace must not start failing when an owner sets
// max_grace under a day.
func (p KeyPolicy) defaultGrace() time.Duration {
	if max, ok := p.maxGrace(); ok && max < DefaultRotationGrace {
		return max
	}
	return DefaultRotationGrace
}

// formatDuration writes d in the largest whole unit of the expiration
// syntax ("7d", "36h", "90s").
func formatDuration(d time.Duration) string {
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.unit
		}
	}
	return d.String()
}

// KeyPolicySet v1: the organization's key policy was replaced as a whole;
// an absent field is unset (its default applies).
type KeyPolicySet struct {
	DefaultExpiration string `json:"default_expiration,omitempty"`
	MaxExpiration     string `json:"max_expiration,omitempty"`
	AllowNever        *bool  `json:"allow_never,omitempty"`
	MaxActiveKeys     int    `json:"max_active_keys,omitempty"`
	MaxGrace          string `json:"max_grace,omitempty"`
}

func (KeyPolicySet) EventType() string { return "KeyPolicySet" }
func (KeyPolicySet) EventVersion() int { return 1 }

// Policy is the policy the event sets.
func (e KeyPolicySet) Policy() KeyPolicy {
	return KeyPolicy{DefaultExpiration: e.DefaultExpiration, MaxExpiration: e.MaxExpiration, AllowNever: e.AllowNever,
		MaxActiveKeys: e.MaxActiveKeys, MaxGrace: e.MaxGrace}
}

func init() { register(KeyPolicySet{}) }

// SetKeyPolicy is the command that replaces an organization's key policy:
// a nil field is unset.
type SetKeyPolicy struct {
	DefaultExpiration *string
	MaxExpiration     *string
	AllowNever        *bool
	MaxActiveKeys     *int
	MaxGrace          *string
	// ServerNever is the server's --allow-never-expiring: a policy cannot
	// allow what the server refuses.
	ServerNever bool
}

// DecideSetKeyPolicy checks an owner's new policy for organization o.
// Owners only: a policy bounds every member's keys, admins' included.
func DecideSetKeyPolicy(p Principal, o *Org, c SetKeyPolicy) (KeyPolicySet, error) {
	var ev KeyPolicySet
	if err := p.Authorize(ActionPolicyManage, Target{Tenant: o.ID}); err != nil {
		return ev, err
	}
	var err error
	if ev.MaxExpiration, err = policyLifetime("max_expiration", c.MaxExpiration, false); err != nil {
		return ev, err
	}
	if ev.DefaultExpiration, err = policyLifetime("default_expiration", c.DefaultExpiration, true); err != nil {
		return ev, err
	}
	if c.AllowNever != nil {
		if *c.AllowNever && !c.ServerNever {
			return ev, Invalid("[allow_never] cannot be true: this server does not allow keys that never expire (--allow-never-expiring=false)")
		}
		v := *c.AllowNever
		ev.AllowNever = &v
	}
	if err := checkPolicyDefault(ev, c.ServerNever); err != nil {
		return ev, err
	}
	if c.MaxActiveKeys != nil {
		if n := *c.MaxActiveKeys; n < 1 || n > MaxPolicyActiveKeys {
			return ev, Invalid("[max_active_keys] must be an integer from 1 to %d, not [%d] (null or absent: no limit)", MaxPolicyActiveKeys, n)
		}
		ev.MaxActiveKeys = *c.MaxActiveKeys
	}
	if c.MaxGrace != nil {
		d, ok := parseDuration(strings.TrimSpace(*c.MaxGrace))
		if !ok || d < 0 || d > MaxPolicyGrace {
			return ev, Invalid("[max_grace] must be a duration such as 0s, 24h or 7d, from 0s to 365d, not [%s]", *c.MaxGrace)
		}
		ev.MaxGrace = strings.TrimSpace(*c.MaxGrace)
	}
	return ev, nil
}

// policyLifetime checks default_expiration or max_expiration: a duration
// from MinPolicyLifetime to MaxKeyLifetime, or never for a default.
func policyLifetime(field string, v *string, neverOK bool) (string, error) {
	if v == nil {
		return "", nil
	}
	s := strings.TrimSpace(*v)
	if neverOK && strings.EqualFold(s, "never") {
		return "never", nil
	}
	d, ok := parseDuration(s)
	if !ok || d < MinPolicyLifetime || d > MaxKeyLifetime {
		return "", Invalid("[%s] must be a duration such as 30d, 3M or 1y, from 1h to 100y, not [%s]", field, *v)
	}
	return s, nil
}

// checkPolicyDefault: a default must be one that a create could ask for.
func checkPolicyDefault(ev KeyPolicySet, serverNever bool) error {
	pol := ev.Policy()
	switch {
	case ev.DefaultExpiration == "never" && (!serverNever || !pol.NeverAllowed()):
		return Invalid("[default_expiration] cannot be never where never is not allowed (allow_never: false, or the server's --allow-never-expiring=false)")
	case ev.DefaultExpiration == "never" || ev.DefaultExpiration == "":
		return nil
	}
	def, _ := parseDuration(ev.DefaultExpiration)
	if max, ok := pol.maxLifetime(); ok && def > max {
		return Invalid("[default_expiration] [%s] is beyond [max_expiration] [%s]", ev.DefaultExpiration, ev.MaxExpiration)
	}
	return nil
}

// DefaultOn says, as the policy's own syntax writes it ("90d", "never"),
// what expiration a key created on surface s without one gets.
func (p KeyPolicy) DefaultOn(s Surface, serverNever bool) string {
	if p.DefaultExpiration != "" {
		return p.DefaultExpiration
	}
	var epoch time.Time
	e := p.surfaceDefault(epoch, s, serverNever)
	if e.Never() {
		return "never"
	}
	return formatDuration(e.At.Sub(epoch))
}
