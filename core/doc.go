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
// The services take and return typed values ([CreateURLRequest],
// [UpdateURLRequest], [ListURLsRequest], ...): decoding JSON, query
// strings, forms and CSV, and the reference's type-error messages, belong
// to the HTTP layer (core/httpapi), while the domain rules (valid URLs,
// lengths, existing users, custom codes, link options) stay here. Bad
// input is one [ValidationError]; the HTTP layer decides per route
// whether it is a 400 or a 422.
//
// core imports only the standard library and core/pycompat, the leaf
// package that reproduces the Python behaviours the reference exposes
// (its JSON, int(), str.strip(), urlsplit). It knows nothing of SQL,
// Redis, gRPC or go-plugin; drivers, plugins and the host depend on it,
// never the reverse.
package core
