// Command latchkey-authenticator is the reference client of Latchkey's
// mobile API v1 (docs/mobile-api.md): what the Android and iOS apps do,
// on a computer, and the executable specification for the app teams. It
// approves self-service requests pushed to the user's device ("Approve on
// your phone"), starts resets and unlocks from the device, and shows TOTP
// codes.
//
// Commands (every one takes --state FILE, default
// <user config dir>/latchkey-authenticator/state.json, and --ca-file PEM
// for a tenant behind a private CA):
//
//	latchkey-authenticator enroll LINK [--name N] [--push-token T] [--force]
//	  LINK is the enrollment link of Settings → Add the authenticator app
//	  (https://<tenant host>/m/enroll?id=…&secret=…; it works once, for 10
//	  minutes). Generates a P-256 key, posts /api/mobile/v1/enroll, saves the
//	  tenant URL, device id, key id, PKCS#8 private key, user and tenant to the
//	  state file (mode 0600) and prints "Enrolled as <user> at <tenant>".
//	  Plain http:// links are accepted only for localhost and loopback hosts.
//
//	latchkey-authenticator wait [--poll 5s] [--push-listen ADDR] [--once]
//	    [--auto approve|deny|report [--number N]]
//	  Waits for requests: polls GET /challenges (every --poll, by default the
//	  server's poll_interval_seconds; --poll 0 turns polling off) and, with
//	  --push-listen, receives pushed data messages — what FCM would deliver
//	  to the app — as HTTP POSTs to ADDR (any path) of the body {"cid":
//	  "<challenge id>"} (202 accepted, 400 without a valid cid). A pushed cid
//	  is only a hint: the details are fetched with a signed GET. For each
//	  request it shows the action, tenant, app, IP, browser, time and seconds
//	  left and asks "Type the number shown in your browser (or d to deny, r to
//	  report this wasn't me):", then posts the signed answer and prints the
//	  server's answer. --auto answers without asking; --once exits after one
//	  answer (status 1 if it was refused, e.g. a wrong number).
//
//	latchkey-authenticator list
//	  The requests waiting for an answer.
//
//	latchkey-authenticator device | rename NAME | push-token TOKEN | remove [--forget]
//	  The device endpoints: show it, rename it, set the FCM token ("" to
//	  poll only), remove it from the tenant (and delete its key here;
//	  --forget deletes it here even if the server refuses).
//
//	latchkey-authenticator reset [--factor F] [--code-from-file FILE] [--new-password-file FILE]
//	latchkey-authenticator unlock [--factor F] [--code-from-file FILE]
//	  Self-service from the device (docs/mobile-api.md section 5): starts a
//	  password reset or an account unlock in which this device counts as one
//	  verification, then asks for what the server needs next: a method
//	  (--factor email|sms|questions|totp picks it), the code that was sent
//	  ("r" sends a new one; --code-from-file reads it from the file's first
//	  line), the answers to security questions, the new password typed twice
//	  (shown on the screen: this client reads plain lines; --new-password-file
//	  reads it from a file) — and prints how it ended. With an answer from a
//	  file, a refused answer ends the command with status 1.
//
//	latchkey-authenticator totp add URI [--label L] | totp (or codes) | totp remove LABEL
//	  Authenticator-app accounts from the otpauth://totp/… URI the portal's
//	  TOTP enrollment shows; `totp` prints each current code and the seconds
//	  it has left. The seeds are kept in the same state file.
//
//	latchkey-authenticator version
//
// Every documented error code has its own message ("That number was wrong;
// the request was denied."). The exit status is 0, or 1 after an error.
package main

import (
	"os"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(cli.Main(version, os.Args[1:])) }
