// Package monitoring holds cloudmgr's Prometheus alert and recording rules
// (alerts.yml), their promtool unit tests (alerts_test.yml) and a Grafana
// dashboard (dashboard.json). It has no Go code of its own: its tests check
// the rules with promtool and check that every metric the rules and the
// dashboard use is one cloudmgr exports.
package monitoring
