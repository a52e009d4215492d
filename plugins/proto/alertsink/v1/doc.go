// Package alertsinkv1 is version 1 of the alert-sink plugin contract (proto
// package curtain.alertsink.v1), mirroring core.AlertSink. Generated from
// alertsink.proto; do not edit the .pb.go files by hand.
package alertsinkv1
