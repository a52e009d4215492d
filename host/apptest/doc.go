// Package apptest holds the whole-application tests of the HTTP API: each
// runs core/httpapi over a real store (SQLite, and PostgreSQL in a schema
// of its own), the host's click batcher and the memory plugins, and checks
// what a client observes (spec/REFERENCE.md). They live apart from
// core/httpapi so that the HTTP unit tests build without pgx, bun and
// go-plugin. The package has no exported API.
package apptest
