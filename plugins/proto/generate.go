// Package proto holds Curtain's versioned plugin wire contract: one gRPC
// service per backend kind, each in its own package and major version
// (plugins/proto/counter/v1 is proto package curtain.counter.v1), plus the
// Info and Configure messages every service shares (plugins/proto/plugin/v1).
//
// The .proto files document every RPC and field. The generated Go code is
// committed; regenerate it with `go generate ./plugins/proto` (needs protoc,
// protoc-gen-go and protoc-gen-go-grpc on PATH). Plugin authors do not use
// these packages directly: they import plugins/sdk.
package proto

//go:generate protoc -I . --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin/v1/plugin.proto counter/v1/counter.proto clickshard/v1/clickshard.proto cache/v1/cache.proto alertsink/v1/alertsink.proto
