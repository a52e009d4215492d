// Package counterv1 is version 1 of the counter plugin contract (proto
// package curtain.counter.v1), mirroring core.Counter. Generated from
// counter.proto; do not edit the .pb.go files by hand.
package counterv1
