// Package rules turns readings and events into alarms: threshold, latching,
// exposure, rate of rise, event, stale and k-of-n confirmation rules, and
// the alarm lifecycle the police room works from. It is pure logic: time is
// passed in, never read, so every rule is tested with a scripted clock.
//
// It imports only the root package, the standard library and expr-lang
// (for expression rules), never gateway/, drivers/, net/http or
// database/sql; TestDependencyDirection in the root package enforces that.
package rules
