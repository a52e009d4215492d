// Package cachev1 is version 1 of the cache plugin contract (proto package
// curtain.cache.v1), mirroring core.Cache. Generated from cache.proto; do
// not edit the .pb.go files by hand.
package cachev1
