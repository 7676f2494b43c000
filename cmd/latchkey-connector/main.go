// Command latchkey-connector is Latchkey's on-premises connector: it keeps one
// outbound WebSocket to the control plane's hub and runs, against the local
// Active Directory or OpenLDAP, the signed commands that arrive over it —
// within limits set in its local configuration, which the cloud can neither
// read nor change. It contains no database driver, web framework or
// control-plane code (a test enforces this).
//
// Commands:
//
//	latchkey-connector enroll --url <tenant URL> --token <join token>
//	    [--name <host name>] [--identity <path>] [--domain <d>]... [--ca-file <pem>] [--force]
//	  Generates the connector's keys on this host, enrolls with the one-time join
//	  token (POST <tenant URL>/connector/v1/enroll; HTTPS, or http:// only for
//	  localhost, *.localhost and 127.0.0.1), saves the identity (mode 0600; an
//	  existing one is kept unless --force) and prints the connector id, the tenant
//	  and the SHA-256 fingerprint of the pinned command key — compare it with the
//	  admin console's.
//
//	latchkey-connector run [--config <json>] [--identity <path>] [--state-dir <dir>]
//	    [--bind-password-file <path>] [--ca-file <pem>]
//	  Connects to the hub and serves commands until SIGINT/SIGTERM (or the Windows
//	  service manager's stop), then drains the commands in flight. Logs are JSON
//	  on stderr, with the connector id; never a password. Exit status 1 for a
//	  wrong configuration or identity (the message names the file and field),
//	  3 when the hub refused the connector for good (revoked: enroll again).
//
//	latchkey-connector install [--config …] [--identity …] [--ca-file <pem>] [--unit-dir /etc/systemd/system] [--no-start]
//	latchkey-connector uninstall [--unit-dir …] [--no-start]
//	  Linux: writes (removes) a hardened systemd unit latchkey-connector.service
//	  (dynamic user, configuration and identity handed over as systemd
//	  credentials, ProtectSystem=strict, only IP and Unix sockets, restart on
//	  failure, but not after exit status 3) and runs systemctl daemon-reload and
//	  enable --now (disable --now), unless --no-start. Windows: registers
//	  (removes) the latchkey-connector service with restart-on-failure recovery
//	  actions; its log is %ProgramData%\Latchkey\Connector\connector.log.
//	  install checks the configuration and the identity first.
//
//	latchkey-connector status [--identity …] [--config …] [--check]
//	  Prints the tenant, connector id, hub URL, command key fingerprint and a
//	  summary of the local configuration; --check also tries to reach the hub.
//
//	latchkey-connector test-directory [--config …] [--user <login>]
//	  Checks, one line each (✓/✗; exit status 1 if any failed): TLS to every
//	  directory URL (and the presented certificate's SHA-256, to pin it), the
//	  service account's bind, the RootDSE (naming context, whether resets
//	  enforce password history), a lookup of --user with its status and policy,
//	  and the service account's delegated rights on that user.
//
//	latchkey-connector version
//
// Default paths: Linux /etc/latchkey-connector/config.json and identity.json,
// state in /var/lib/latchkey-connector; Windows %ProgramData%\Latchkey\Connector\
// config.json, identity.json and state\. The local configuration's format is
// described in docs/connector.md.
package main

import (
	"os"

	"github.com/latchkey/latchkey/cmd/latchkey-connector/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(cli.Main(version, os.Args[1:], os.Stdout, os.Stderr)) }
