package config

import (
	"fmt"
	"time"
)

// Privacy configures privacy mode and the retention of visitor events
// (docs/privacy.md). Off by default, for the reference's compatibility;
// recommended on.
type Privacy struct {
	// Enabled stores a keyed hash of each visitor's address (HMAC-SHA256
	// with VisitorKey) instead of the address itself, in the redirect
	// events and the unique-visitor sketches.
	Enabled bool `koanf:"enabled"`
	// VisitorKey is the HMAC key: at least 16 characters, the same on
	// every instance (or visitors are counted once per instance).
	// Changing it makes every visitor new.
	VisitorKey Secret `koanf:"visitor_key"`
	// RetentionDays deletes redirect and click events older than this
	// many days, keeping the analytics totals; 0 keeps them forever.
	RetentionDays int `koanf:"retention_days"`
	// RetentionBatch is how many events one delete transaction removes.
	RetentionBatch int `koanf:"retention_batch"`
	// RetentionInterval is the pause between retention passes.
	RetentionInterval time.Duration `koanf:"retention_interval"`
	// StoreUserAgent keeps each redirect's User-Agent header with its
	// click (for the device, browser, OS and bot breakdowns); default
	// true. Independent of Enabled.
	StoreUserAgent bool `koanf:"store_user_agent"`
	// StoreReferrer keeps each redirect's Referer header with its click
	// (for the referrer breakdown); default true. Independent of Enabled.
	StoreReferrer bool `koanf:"store_referrer"`
}

// minVisitorKeyLen is the shortest visitor key accepted.
const minVisitorKeyLen = 16

// RetentionMaxAge returns how old a visitor event may get, 0 for ever.
func (p Privacy) RetentionMaxAge() time.Duration {
	return time.Duration(p.RetentionDays) * 24 * time.Hour
}

// validate reports the problems of the privacy settings.
func (p Privacy) validate() []error {
	var errs []error
	bad := func(key string, value any, fix string) {
		errs = append(errs, invalidValue(key, value, fix))
	}
	if p.Enabled && len(p.VisitorKey.Reveal()) < minVisitorKeyLen {
		bad("privacy.visitor_key", p.VisitorKey, fmt.Sprintf("privacy.enabled needs a secret of at least %d characters, the same on every instance (e.g. the output of 'openssl rand -hex 32')", minVisitorKeyLen))
	}
	if p.RetentionDays < 0 {
		bad("privacy.retention_days", p.RetentionDays, "use 0 to keep events forever or a number of days")
	}
	if p.RetentionBatch < 1 {
		bad("privacy.retention_batch", p.RetentionBatch, "must be at least 1")
	}
	if p.RetentionInterval <= 0 {
		bad("privacy.retention_interval", p.RetentionInterval, `use a positive duration such as "1h"`)
	}
	return errs
}
