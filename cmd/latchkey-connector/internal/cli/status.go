package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/connector/agent"
)

type statusOptions struct {
	Config, Identity, CAFile string
	Check                    bool
}

func newStatusCmd() *cobra.Command {
	config, identity, _ := defaultPaths()
	o := statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show who this connector is and what its local configuration allows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return status(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Config, "config", config, "the local configuration")
	f.StringVar(&o.Identity, "identity", identity, "the identity written by enroll")
	f.StringVar(&o.CAFile, "ca-file", "", "PEM CA certificate(s) to trust for the hub (with --check)")
	f.BoolVar(&o.Check, "check", false, "also check that the hub's host answers over HTTP(S)")
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, "; ")
}

// status prints the identity and the configuration; it never prints a key,
// a password or where a password comes from beyond its file or variable name.
func status(ctx context.Context, o statusOptions, out io.Writer) error {
	var errs []error
	row := func(k, format string, args ...any) {
		fmt.Fprintf(out, "%-15s %s\n", k+":", fmt.Sprintf(format, args...))
	}
	id, err := loadIdentity(o.Identity)
	if err != nil {
		row("Identity", "✗ %v", err)
		errs = append(errs, errors.New("identity"))
	} else {
		row("Tenant", "%s", id.TenantID)
		row("Connector", "%s", id.ConnectorID)
		row("Hub", "%s", id.HubURL)
		row("Command key", "SHA-256 %s", Fingerprint(id.CommandKey))
		if id.HubCAPin != "" {
			row("Hub CA pin", "SHA-256 of the root's public key %s", id.HubCAPin)
		} else {
			row("Hub CA pin", "none (a ws:// demo hub, or enrolled before pinning existed)")
		}
		row("Identity", "%s", o.Identity)
	}
	cfg, err := agent.LoadLocalConfig(o.Config)
	if err != nil {
		row("Config", "✗ %v", err)
		errs = append(errs, errors.New("config"))
	} else {
		d := cfg.Directory
		dialect := d.Dialect
		if dialect == "" {
			dialect = "ad"
		}
		row("Config", "%s", o.Config)
		row("Directory", "%s (dialect %s)", orNone(d.URLs), dialect)
		row("Base DN", "%s", d.BaseDN)
		row("Service acct", "%s", d.BindDN)
		trust := "system CA roots"
		switch {
		case d.CAFile != "" && d.CertSHA256 != "":
			trust = "CA file " + d.CAFile + " and pinned certificate"
		case d.CAFile != "":
			trust = "CA file " + d.CAFile
		case d.CertSHA256 != "":
			trust = "pinned certificate SHA-256 " + d.CertSHA256
		}
		row("DC trust", "%s", trust)
		row("Domains", "%s", orNone(cfg.Domains))
		g := cfg.Guardrails()
		if len(g.OUs) == 0 {
			row("OUs in scope", "(none: EVERY account in the directory can be managed — set scope.ous)")
		} else {
			row("OUs in scope", "%s", strings.Join(g.OUs, "; "))
		}
		row("Protection", "admin accounts (adminCount=1) %s; protected groups: %s", onOff(g.ProtectAdmins), orNone(g.ProtectedGroups))
		perMin, burst := g.WritesPerMinute, g.WriteBurst
		if perMin == 0 {
			perMin = 120
		}
		if burst == 0 {
			burst = 30
		}
		row("Rate limit", "%d writes per minute, bursts of %d", perMin, burst)
	}
	if o.Check && id.HubURL != "" {
		if msg, err := checkHub(ctx, id.HubURL, o.CAFile); err != nil {
			row("Hub check", "✗ %v", err)
			errs = append(errs, errors.New("hub"))
		} else {
			row("Hub check", "✓ %s", msg)
		}
	}
	if len(errs) > 0 {
		return errReported
	}
	return nil
}

// checkHub GETs the hub URL's host over HTTP(S): any HTTP answer means the
// network path and TLS work (the WebSocket itself needs the connector's key).
func checkHub(ctx context.Context, hubURL, caFile string) (string, error) {
	u, err := url.Parse(hubURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("hub URL %q is not a URL", hubURL)
	}
	target := url.URL{Scheme: "https", Host: u.Host, Path: "/"}
	if u.Scheme == "ws" {
		target.Scheme = "http"
	}
	client, err := httpClient(caFile, 10*time.Second)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s is not reachable: %v", target.String(), err)
	}
	resp.Body.Close()
	return fmt.Sprintf("%s answered (HTTP %d)", target.String(), resp.StatusCode), nil
}
