// Package clickshardv1 is version 1 of the click-shard plugin contract
// (proto package curtain.clickshard.v1), mirroring core.ClickShard.
// Generated from clickshard.proto; do not edit the .pb.go files by hand.
package clickshardv1
