// Package challenge is the domain core of push approval: challenges and
// their state machine, number matching, the verification of a device's
// signed answer, and the canonical form it signs. It imports only the
// standard library and tenants.
package challenge
