// Package approve is the authenticator's side of a push challenge: it finds
// challenges (by polling the device's pending list, and from pushed
// {"cid"} messages), shows their context, asks the person to type the
// number shown in the browser — or deny, or report "this wasn't me" — and
// posts the signed answer. The decision comes from a Decider: the terminal
// prompt, or a fixed answer for scripts and tests.
package approve
