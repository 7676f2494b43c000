// Package challenge is the domain core of push approval (security.md
// R28–R34 and "Push-approval protocol: recommendations"): challenges and
// their state machine, number matching, the push-fatigue limits, the
// data-only FCM message, and the verification of a device's signed answer.
// It has no database, no FCM client and no HTTP; it imports only the
// standard library and tenants. Storage, sending and the mobile API plug in
// through Store, History and Sender.
//
// # Challenge
//
// A Challenge verifies one self-service action (Purpose: reset, unlock,
// signin, change, enroll) of one user of one tenant, on one enrolled device.
// Its cid is 128 bits from the injected random reader, as 32 lower-case hex
// digits. It can be answered for Config.Lifetime (default and maximum
// 120 s; an answer at exactly the expiry is late). It carries a Context for
// the phone to show: action, tenant display name, optional app and geo, IP,
// browser summary and time. No secrets; strings are short and free of
// control and bidi characters.
//
// States: pending → approved | denied | expired | reported, and nothing
// else. A challenge is answered once: Store.Answer is a conditional
// transition (from pending) that reports whether it won, so of concurrent
// answers exactly one takes effect.
//
// # Number matching
//
// On by default: the browser shows Challenge.Number, uniform in 10–99 from
// the injected reader, and the user types it on the phone. An approval with
// a wrong or missing number is refused and ends the challenge denied
// (ReasonWrongNumber): there is no second try, so the number cannot be
// guessed, and it counts as a denial for the limits. Config
// DisableNumberMatching turns it off; approvals then carry no number.
//
// # What the device signs
//
// The answer is an ES256 signature (ECDSA P-256 over SHA-256, ASN.1 DER)
// over the RFC 8785 (JCS) canonical JSON of the flat object
//
//	{"cid":"<32 hex>","decision":"approve"|"deny"|"report","key_id":"<id>","number":<int>,"ts":"<RFC 3339 UTC, seconds>"}
//
// Canonical means: members sorted by name (by UTF-16 code units), no
// whitespace, strings escaped only as JSON.stringify does (\" \\ \b \t \n
// \f \r, other controls as \u00xx, everything else as UTF-8), integers in
// plain decimal. "number" is the typed number for an approval and is left
// out (or 0) for deny and report; ts looks like "2026-03-01T12:00:00Z".
// For example (the golden vector of the tests):
//
//	{"cid":"000102030405060708090a0b0c0d0e0f","decision":"approve","key_id":"dev-key-1","number":42,"ts":"2026-03-01T12:00:00Z"}
//
// The device posts {"payload":"<base64url>","sig":"<base64url>"} (no
// padding; see DecodeAnswer): the signed bytes travel encoded so nothing on
// the way can reformat them. The server verifies the signature over the
// bytes it received and also requires those bytes to be exactly the
// canonical form of what they decode to; reordered members, added
// whitespace, other escapes or number forms are refused, not normalised.
//
// # Checks, in order (Verify, then Service.Respond)
//
//  1. Form: at most 512 bytes, one JSON object of exactly the members
//     above, no duplicates, right types and ranges, canonical bytes
//     (ErrMalformed, ErrNotCanonical).
//  2. Key binding: the device record the caller loaded is of the
//     challenge's tenant, user and device, and its key id is the signed
//     key_id (ErrWrongDevice).
//  3. Signature: ES256 over the received bytes with that device's P-256
//     public key (ErrBadSignature).
//  4. The signed cid is this challenge's (ErrWrongChallenge).
//  5. ts within ±60 s of the server's clock (ErrStaleTimestamp).
//  6. The challenge is pending (ErrAlreadyAnswered) and not expired
//     (ErrExpired; the challenge is then marked expired).
//  7. Decision: deny → denied, report → reported; approve needs the right
//     number (else denied with ErrWrongNumber) → approved.
//  8. Store.Answer from pending; losing the race is ErrAlreadyAnswered.
//  9. The outcome goes to the limits: an approval starts them afresh, a
//     denial counts, a report freezes the user's pushes.
//
// Steps 1–5 change nothing, so an unauthenticated request can neither end
// a challenge nor learn its state.
//
// # Against push fatigue
//
// Limiter.Reserve decides before a challenge is created or sent, and
// records the push in the same atomic History step: at most 3 pushes per
// user per 10 minutes, cool-downs of 0, 30 s and 2 min before the first,
// second and third, a stop once 2 denials are in the window, and no pushes
// while the user is frozen after a report. Only events after the user's
// last approval count. A refusal is a *RefusedError naming the Rule and
// when the next push is allowed (never, for a freeze, until an admin lifts
// it).
//
// # FCM
//
// BuildMessage makes the data-only FCM HTTP v1 message: data is exactly
// {"cid"}, Android priority high, TTL the remaining lifetime, a constant
// collapse key; no notification block, username, number, IP or context.
// The app fetches the details over its signed channel, or finds the
// challenge by polling when FCM fails (a failed send keeps the challenge).
package challenge
