// Package core is the domain of Curtain: users, short URLs, click events,
// short codes, validation and analytics, the services the HTTP layer calls,
// and the contracts every backend implements.
//
// The contracts are the durable [Store] and the four backend kinds that the
// host loads as plugins: [Counter], [ClickShard], [Cache] and [AlertSink].
// They are shaped for batching so that a plugin boundary costs little on the
// redirect path: clicks are recorded in batches, the counter hands out blocks
// of ids, and cache calls take several keys at once.
//
// core imports only the standard library. It knows nothing of SQL, Redis,
// gRPC or go-plugin; drivers, plugins and the host depend on it, never the
// reverse.
package core
