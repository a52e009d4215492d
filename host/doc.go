// Package host runs Curtain's backends and hands the rest of the program
// plain core interfaces.
//
// It loads every configured plugin instance (counter, click shard, cache,
// alert sink) as a separate go-plugin process, checks its identity and
// health, restarts it with backoff when it dies, and exposes it as a stable
// core value whose calls get a deadline, metrics, and core.ErrUnavailable
// while the process is down (see [New] and [Host]).
//
// It also owns what keeps the plugin boundary off the redirect path:
//   - [ClickBatcher] queues clicks, batches them per shard of the
//     consistent-hash ring (package host/ring), fails over to the next shard
//     and, when every shard fails, stores them durably;
//   - [NearCache] keeps hot redirect targets in process for a short TTL;
//   - [AlertQueue] retries alerts a sink could not deliver.
package host
