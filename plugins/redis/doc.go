// Package redis holds the reference Redis implementations of three backend
// kinds: the short-code counter ([Counter]), the click shard ([ClickShard])
// and the response cache ([Cache]).
//
// They keep the Redis key layout of the reference service byte for byte
// (spec §5, §6 and §7): the counter in url:counter, clicks in clicks:<c>,
// clicks:<c>:ts:<YYYY-MM-DD:HH>, clicks:<c>:uv and stream:clicks:<c>, cache
// entries under the caller's keys. Each talks to one Redis server (setting
// "url") or to a Redis Cluster (setting "cluster"); see [Settings].
//
// The host never imports this package: cmd/curtain serves these types as
// plugin processes through the plugin SDK, which hands each its settings
// through Configure. Every method is safe for concurrent use. Errors that
// mean Redis cannot be reached (refused or dropped connections, timeouts,
// a cluster that is down or a server still loading) wrap
// core.ErrUnavailable; bad arguments and settings wrap core.ErrInvalid.
package redis
