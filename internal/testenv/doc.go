// Package testenv is the test environment Curtain's integration tests
// share, written once: free loopback ports, a redis-server launcher, a
// PostgreSQL fixture (a schema or a database of the test's own on the
// shared server), a TCP fault proxy that can drop every connection and
// come back on the same port, and helpers that build a command for
// TestMain and find processes a test left behind.
//
// Every helper takes the test's testing.TB, skips under -short where it
// needs an outside service, and undoes what it did with tb.Cleanup.
// CURTAIN_TEST_POSTGRES_URL overrides the PostgreSQL server
// (postgres://postgres@127.0.0.1:5432/test by default). The package is
// internal: examples, which a newcomer copies, do not use it.
package testenv
