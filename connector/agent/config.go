package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/latchkey/latchkey/connector/directory"
)

// LocalConfig is the connector's own configuration file, written by the
// company's admin on the connector host. The cloud can neither read nor change
// it: it decides which directory, which OUs and which accounts the connector
// will ever touch.
type LocalConfig struct {
	Directory struct {
		URLs       []string `json:"urls"`        // ldaps://dc1.acme.local, ldap://dc2 (StartTLS)
		Dialect    string   `json:"dialect"`     // "ad" (default) or "openldap"
		CAFile     string   `json:"ca_file"`     // PEM CA of the DCs' certificates
		CertSHA256 string   `json:"cert_sha256"` // or a pin of the DC certificate
		BindDN     string   `json:"bind_dn"`     // the service account
		BindPWFile string   `json:"bind_password_file"`
		BindPWEnv  string   `json:"bind_password_env"` // name of an environment variable
		BaseDN     string   `json:"base_dn"`
		PPolicyDN  string   `json:"ppolicy_dn,omitempty"`
	} `json:"directory"`
	// Domains this connector serves (shown in the admin console).
	Domains []string `json:"domains"`
	Scope   struct {
		OUs             []string `json:"ous"`
		ProtectAdmins   *bool    `json:"protect_admins"` // default true
		ProtectedGroups []string `json:"protected_groups"`
		WritesPerMinute int      `json:"writes_per_minute"`
		WriteBurst      int      `json:"write_burst"`
	} `json:"scope"`
}

// LoadLocalConfig reads and checks the local configuration.
func LoadLocalConfig(path string) (LocalConfig, error) {
	var c LocalConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("connector config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("connector config %s: %w", path, err)
	}
	return c, nil
}

// Guardrails returns the scope rules, with protection of admin accounts on
// unless explicitly switched off.
func (c LocalConfig) Guardrails() Guardrails {
	protect := true
	if c.Scope.ProtectAdmins != nil {
		protect = *c.Scope.ProtectAdmins
	}
	return Guardrails{OUs: c.Scope.OUs, ProtectAdmins: protect, ProtectedGroups: c.Scope.ProtectedGroups,
		WritesPerMinute: c.Scope.WritesPerMinute, WriteBurst: c.Scope.WriteBurst}
}

// DirectoryConfig builds the directory layer's configuration, reading the
// service account's password from its file or variable.
func (c LocalConfig) DirectoryConfig() (directory.Config, error) {
	d := c.Directory
	cfg := directory.Config{URLs: d.URLs, CertSHA256: d.CertSHA256, BindDN: d.BindDN, BaseDN: d.BaseDN, PPolicyDN: d.PPolicyDN,
		Dialect: directory.DialectAD}
	if d.Dialect == "openldap" {
		cfg.Dialect = directory.DialectOpenLDAP
	} else if d.Dialect != "" && d.Dialect != "ad" {
		return cfg, fmt.Errorf("directory.dialect: %q is neither ad nor openldap", d.Dialect)
	}
	if d.CAFile != "" {
		pem, err := os.ReadFile(d.CAFile)
		if err != nil {
			return cfg, fmt.Errorf("directory.ca_file: %w", err)
		}
		cfg.CAPEM = pem
	}
	switch {
	case d.BindPWFile != "":
		pw, err := os.ReadFile(d.BindPWFile)
		if err != nil {
			return cfg, fmt.Errorf("directory.bind_password_file: %w", err)
		}
		cfg.BindPassword = strings.TrimRight(string(pw), "\r\n")
	case d.BindPWEnv != "":
		cfg.BindPassword = os.Getenv(d.BindPWEnv)
		if cfg.BindPassword == "" {
			return cfg, fmt.Errorf("directory.bind_password_env: $%s is empty", d.BindPWEnv)
		}
	default:
		return cfg, errors.New("directory: bind_password_file or bind_password_env is required")
	}
	return cfg, cfg.Validate()
}
