// Package mobileclient is the client side of Latchkey's mobile API v1
// (docs/mobile-api.md), as the reference authenticator and app teams use it:
// the enrollment link, the device key, the signed requests of section 2, the
// challenge and device endpoints, and the documented error codes as
// messages a person can act on.
//
// It speaks only net/http and the standard library's crypto, plus
// push/challenge for the signed answer's canonical JSON and envelope (the
// server verifies exactly those bytes). It keeps no state: the caller loads
// and saves the device's identity (see package state).
package mobileclient
