// Package grafana holds Curtain's Grafana provisioning and the dashboard
// "Curtain Command Center", and the test that checks the dashboard's
// queries offline.
package grafana
