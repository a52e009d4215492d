// Package postgres holds the reference PostgreSQL implementations of two
// backend kinds, for deployments without Redis: the short-code counter
// ([Counter]) on a sequence and the click shard ([ClickShard]) on tables.
// It talks to PostgreSQL through pgx and its pool.
//
// Everything lives in one schema (setting "schema", created if missing;
// by default the connection's current schema): the sequence
// curtain_url_counter, and the tables curtain_click_totals,
// curtain_click_hourly, curtain_click_visitors, curtain_click_stream,
// curtain_click_groups and curtain_click_pending. They are created with
// IF NOT EXISTS when the plugin is configured (or first used), under an
// advisory lock, so that several processes may start at once. Several
// shards may share a database by using one schema each.
//
// Concurrency rests on PostgreSQL alone, so any number of processes may
// share a schema: Reserve reads and advances the sequence under a
// transaction-scoped advisory lock; Record applies a batch in one
// transaction, appending stream entries under another advisory lock so
// that their ids become visible in order; Read claims idle entries with
// FOR UPDATE SKIP LOCKED and hands out new ones under a lock on the
// group's cursor row; blocking reads wake on LISTEN/NOTIFY.
//
// The host never imports this package: cmd/curtain serves these types as
// plugin processes through the plugin SDK, which hands each its settings
// through Configure. Every method is safe for concurrent use. Errors that
// mean PostgreSQL cannot be reached (refused or dropped connections,
// timeouts, a server shutting down, starting up, out of connections or
// read-only) wrap core.ErrUnavailable; bad arguments and settings wrap
// core.ErrInvalid.
package postgres
