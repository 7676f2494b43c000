package cli

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"
)

// unitParams fill the systemd unit.
type unitParams struct {
	Exe, Config, Identity string
	// BindPasswordFile is the config's directory.bind_password_file, handed to
	// the service as a credential ("" when the password comes from a variable).
	BindPasswordFile string
	// EnvFile is an optional environment file (for directory.bind_password_env),
	// read by systemd as root: the configuration's directory + "/environment".
	EnvFile string
	// HubCAFile is a private CA for the hub (run --ca-file), or "".
	HubCAFile string
}

// The unit runs under a dynamic user with nothing writable but its state
// directory. The configuration, the identity and the bind password stay
// root-owned 0600 files: systemd hands copies to the service as credentials
// (%d is $CREDENTIALS_DIRECTORY, readable only by the service).
var unitTemplate = template.Must(template.New("unit").Parse(`# Written by latchkey-connector install; latchkey-connector uninstall removes it.
[Unit]
Description=Latchkey connector (self-service password reset for the local directory)
Documentation=https://github.com/latchkey/latchkey/blob/main/docs/connector.md
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart={{.Exe}} run --config %d/config --identity %d/identity --state-dir %S/latchkey-connector{{if .BindPasswordFile}} --bind-password-file %d/bind-password{{end}}{{if .HubCAFile}} --ca-file {{.HubCAFile}}{{end}}
LoadCredential=config:{{.Config}}
LoadCredential=identity:{{.Identity}}
{{- if .BindPasswordFile}}
LoadCredential=bind-password:{{.BindPasswordFile}}
{{- else if .EnvFile}}
EnvironmentFile=-{{.EnvFile}}
{{- end}}
User=latchkey-connector
DynamicUser=yes
StateDirectory=latchkey-connector
StateDirectoryMode=0700
UMask=0077
Restart=on-failure
RestartSec=5s
# 3: the hub refused this connector for good (revoked): do not retry.
RestartPreventExitStatus=3
TimeoutStopSec=150s
KillSignal=SIGTERM

NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`))

// renderUnit returns the systemd unit for p. Every path must be absolute
// and free of characters systemd would interpret.
func renderUnit(p unitParams) ([]byte, error) {
	for name, v := range map[string]string{"executable": p.Exe, "config": p.Config, "identity": p.Identity, "bind password file": p.BindPasswordFile, "environment file": p.EnvFile, "hub CA file": p.HubCAFile} {
		if v == "" && (name == "bind password file" || name == "environment file" || name == "hub CA file") {
			continue
		}
		if !filepath.IsAbs(v) || strings.HasPrefix(v, `\`) {
			return nil, fmt.Errorf("%s path %q is not absolute", name, v)
		}
		if strings.ContainsAny(v, " \t\r\n\"'\\%$;") {
			return nil, fmt.Errorf("%s path %q has characters a systemd unit would interpret (space, quote, %%, $, ;, \\)", name, v)
		}
	}
	var b bytes.Buffer
	if err := unitTemplate.Execute(&b, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
