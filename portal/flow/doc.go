// Package flow is Latchkey's self-service flow engine: the one sequence every
// action runs — identify → decide the policy → verify the required number of
// distinct factors → act through the connector → notify → audit — for reset,
// unlock, change and sign-in.
//
// It is framework-free: the portal's handlers parse a form, call one Engine
// method with the flow token from the browser's cookie, and render the View
// that comes back. All state lives in the database (tenants.Flow, whose ID is
// the SHA-256 of the token), so any node continues any flow. Every mutation
// carries the step token of the page it answers (an HMAC over the flow and its
// version): a replayed, skipped or stale step is refused with ErrStale and
// changes nothing, and store.UpdateFlow's version check makes each step apply
// once even under concurrent requests (R5, R16).
//
// Enumeration (R1, R2, R3): Start and the "send a code" step behave the same
// for every account state — unknown, disabled, locked, unenrolled, frozen and
// existing — the same redirect, the same pages, the same factor choices (the
// policy's, not the user's enrollment), and a response padded to a floor with
// jitter. An account that cannot be verified runs as a decoy: codes are never
// sent, security questions are chosen deterministically from the tenant's
// list, and every answer fails the way a wrong one does. "Use this method
// next time" is remembered in the browser (a cookie the handlers keep), not
// on the account, so it reveals nothing about accounts either.
//
// Failures count against the code (MaxCodeAttempts), the flow (MaxFlowFailures)
// and the account (the tenant's LockoutThreshold, then a self-service lockout
// separate from the directory's). Nothing on the account changes before
// verification passes (R8); the directory operation runs through the
// connector's Dispatcher, which gives one definite outcome, and the flow
// records it so a reset happens once or not at all.
package flow
