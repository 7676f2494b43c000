package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/connector/directory/demodir"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// The demo is where the whole product comes together on one machine: one
// process, the embedded SQLite database under --data-dir, and two demo tenants
// on *.localhost (which browsers resolve to loopback). Later parts plug in here:
// an in-process connector against a demo directory, a dev mailbox and SMS outbox.
func newDemoCmd() *cobra.Command {
	var (
		sc       storageConfig
		srv      serverConfig
		realDir  string
		mailAddr string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run everything on this machine with two demo tenants (acme.localhost, globex.localhost)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, port, err := net.SplitHostPort(srv.Addr)
			if err != nil {
				return fmt.Errorf("--addr (%s): %q is not host:port", envName("addr"), srv.Addr)
			}
			if !cmd.Flags().Changed("public-port") && port != "80" {
				srv.PublicPort = port // links carry the demo's port; port 0 is resolved once bound
			}
			if err := errors.Join(sc.validate(), srv.validate()); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			log := newLogger(cmd.ErrOrStderr(), srv.LogFormat, srv.LogLevel)
			ctx := cmd.Context()
			// The key first: a missing one is named before any database is touched.
			key, err := loadCommandKey(srv.Connector, sc, log)
			if err != nil {
				return err
			}
			srv.commandKey = key
			if srv.SelfService.secretKey, err = loadSecretKey(srv.SelfService, sc, log); err != nil {
				return err
			}
			st, err := openStore(ctx, sc, log)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := seedDemo(ctx, st, srv.PlatformDomain); err != nil {
				return fmt.Errorf("seed demo tenants: %w", err)
			}
			mailbox := &devMailbox{}
			srv.SelfService.mailbox = mailbox
			mailLn, err := net.Listen("tcp", mailAddr)
			if err != nil {
				return fmt.Errorf("--mailbox-addr %s: %w", mailAddr, err)
			}
			mailSrv := &http.Server{Handler: mailbox, ReadHeaderTimeout: 10 * time.Second}
			go func() { _ = mailSrv.Serve(mailLn) }()
			defer mailSrv.Close()
			s, err := newServer(srv, st, log)
			if err != nil {
				return err
			}
			conns, err := s.startDemoConnectors(ctx, sc.DataDir, realDir, []string{"acme", "globex"})
			if err != nil {
				return err
			}
			links := s.links
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nLatchkey demo is running (data in %s). Open:\n\n", sc.DataDir)
			for _, slug := range []string{"acme", "globex"} {
				t, err := st.Platform().TenantBySlug(ctx, slug)
				if err != nil {
					return fmt.Errorf("demo tenant %s: %w", slug, err)
				}
				fmt.Fprintf(out, "  %-28s %s\n", t.Name, links.URL(&t, "/signin"))
			}
			fmt.Fprintf(out, "\n  demo mailbox and SMS         http://%s/\n", mailLn.Addr())
			fmt.Fprintf(out, "  demo users                   alice, bob, carol (password %s)\n", demodir.DefaultPassword)
			fmt.Fprintf(out, "  phone approvals              sign in at /enroll, Settings → Add the app, then: go run ./cmd/latchkey-authenticator enroll '<link>' && go run ./cmd/latchkey-authenticator wait\n")
			fmt.Fprintf(out, "\n  connector hub                %s\n", s.hubURL)
			for _, c := range conns {
				fmt.Fprintf(out, "  %-28s %s\n", c.slug+" connector", c.dir)
			}
			portFlag := ""
			if s.links.Port != "" {
				portFlag = " --public-port " + s.links.Port
			}
			fmt.Fprintf(out, "  enroll a connector           latchkey connector token --data-dir %s --tenant acme --public-scheme http%s\n", sc.DataDir, portFlag)
			if s.opsAddr() != "" {
				fmt.Fprintf(out, "\n  metrics and health           http://%s/metrics\n", s.opsAddr())
			}
			fmt.Fprintf(out, "\nStop with Ctrl-C.\n\n")
			return s.run(ctx)
		},
	}
	cmd.Flags().StringVar(&realDir, "directory-config", "",
		"a latchkey-connector configuration file (JSON): acme's in-process connector then serves that real directory instead of the demo one")
	cmd.Flags().StringVar(&mailAddr, "mailbox-addr", "127.0.0.1:8025", "address of the demo mailbox page, which shows every email and SMS the demo sends")
	sc.register(cmd.Flags(), "latchkey-demo-data")
	srv.register(cmd.Flags(), serverDefaults{Addr: "127.0.0.1:8080", OpsAddr: "127.0.0.1:0", ConnectorAddr: "127.0.0.1:8081", PlatformDomain: "localhost", Scheme: "http", LogFormat: "text"})
	return cmd
}

// seedDemo creates the demo tenants unless they exist already, so restarting
// the demo keeps whatever was changed since.
func seedDemo(ctx context.Context, st store.Store, platformDomain string) error {
	for _, spec := range demoTenants(platformDomain) {
		_, err := st.Platform().TenantBySlug(ctx, spec.Slug)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("look up %s: %w", spec.Slug, err)
		}
		if _, err := createTenant(ctx, st, spec); err != nil {
			return err
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func demoTenants(platformDomain string) []tenantSpec {
	acmePolicy := tenants.DefaultPolicy()
	globexPolicy := tenants.DefaultPolicy()
	// Globex sends no SMS and lets a single strong factor reset a password.
	globexPolicy.SMSEnabled = ptr(false)
	globexPolicy.Password = &tenants.PasswordPolicy{MinLength: 14, RequiredClasses: 2, History: 24, BannedWords: []string{"globex", "password"}}
	globexPolicy.Actions[tenants.ActionReset] = &tenants.ActionPolicy{
		Enabled: ptr(true),
		Channels: map[tenants.Channel]*tenants.ChannelRule{
			tenants.ChannelWeb:     {Allowed: []tenants.Factor{tenants.FactorPush, tenants.FactorPasskey, tenants.FactorTOTP, tenants.FactorEmail}, Required: 1},
			tenants.ChannelMobile:  {Allowed: []tenants.Factor{tenants.FactorPush, tenants.FactorPasskey}, Required: 1},
			tenants.ChannelDesktop: {Allowed: []tenants.Factor{tenants.FactorPush, tenants.FactorTOTP, tenants.FactorEmail}, Required: 1},
		},
	}
	return []tenantSpec{
		{
			Slug: "acme", Name: "Acme Corporation", PlatformDomain: platformDomain, DefaultLocale: "en",
			Branding: tenants.Branding{
				DisplayName: "Acme Corporation", PrimaryColor: "#0b5cad", AccentColor: "#f2a900",
				Logo: []byte(demoLogo("#0b5cad", "A")), LogoContentType: "image/svg+xml",
				SupportText: "Stuck? Call the Acme help desk on extension 4357 (HELP).",
			},
			Policy: &acmePolicy,
			Organisations: []tenants.Organisation{
				{Name: "Staff", Priority: 100},
				{Name: "IT administrators", Priority: 10, Rules: []tenants.MatchRule{{Kind: tenants.MatchGroup, Value: "CN=IT Admins,OU=Groups,DC=acme,DC=local"}},
					Policy: tenants.Policy{Password: &tenants.PasswordPolicy{MinLength: 16, RequiredClasses: 3, History: 24}}},
				{Name: "Contractors", Priority: 20, Rules: []tenants.MatchRule{{Kind: tenants.MatchDNSuffix, Value: "OU=Contractors,DC=acme,DC=local"}},
					Policy: tenants.Policy{SMSEnabled: ptr(false)}},
			},
		},
		{
			Slug: "globex", Name: "Globex GmbH", PlatformDomain: platformDomain, DefaultLocale: "de",
			Branding: tenants.Branding{
				DisplayName: "Globex", PrimaryColor: "#1f7a4d", AccentColor: "#c8102e",
				Logo: []byte(demoLogo("#1f7a4d", "G")), LogoContentType: "image/svg+xml",
				SupportText: "IT-Service: +49 30 1234 5678",
			},
			Policy: &globexPolicy,
			Organisations: []tenants.Organisation{
				{Name: "Everyone", Priority: 100},
				{Name: "Sales", Priority: 10, Rules: []tenants.MatchRule{{Kind: tenants.MatchUPNDomain, Value: "sales.globex.example"}}},
			},
		},
	}
}

func demoLogo(color, letter string) string {
	return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">` +
		`<rect width="64" height="64" rx="14" fill="` + color + `"/>` +
		`<text x="32" y="44" font-family="sans-serif" font-size="36" font-weight="700" fill="#fff" text-anchor="middle">` + letter + `</text></svg>`
}
