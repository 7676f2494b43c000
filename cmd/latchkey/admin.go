package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/audit"
	"github.com/latchkey/latchkey/tenants/store"
)

// withStore runs fn with the configured store open; operator commands log only
// warnings, as text, to stderr.
func withStore(cmd *cobra.Command, sc storageConfig, fn func(context.Context, store.Store) error) error {
	if err := sc.validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := newLogger(cmd.ErrOrStderr(), "text", "warn")
	st, err := openStore(cmd.Context(), sc, log)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cmd.Context(), st)
}

func newMigrateCmd() *cobra.Command {
	var sc storageConfig
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations and exit",
		Long: "Applies the embedded migrations. On PostgreSQL it connects with --database-migrate-url\n" +
			"(the schema owner) under an advisory lock; with SQLite it migrates the file under --data-dir.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sc.DatabaseURL != "" && sc.DatabaseMigrateURL == "" {
				return fmt.Errorf("--database-migrate-url (%s) is required to migrate PostgreSQL", envName("database-migrate-url"))
			}
			return withStore(cmd, sc, func(context.Context, store.Store) error {
				fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
				return nil
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	return cmd
}

func newTenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create, list and configure tenants (operator)"}
	cmd.AddCommand(newTenantCreateCmd(), newTenantListCmd(), newTenantAddHostCmd())
	return cmd
}

// tenantSpec is what creating a tenant needs; the demo uses it too.
type tenantSpec struct {
	Slug, Name     string
	PlatformDomain string
	Hosts          []string // custom hosts; the first becomes canonical when CustomPrimary
	CustomPrimary  bool
	Branding       tenants.Branding
	DefaultLocale  string
	Policy         *tenants.Policy
	Organisations  []tenants.Organisation // the first is the default; empty → one "Everyone"
}

// createTenant creates a tenant with its hosts and organisations and audits it.
func createTenant(ctx context.Context, st store.Store, spec tenantSpec) (tenants.Tenant, error) {
	if err := tenants.ValidateSlug(spec.Slug); err != nil {
		return tenants.Tenant{}, fmt.Errorf("slug: %w", err)
	}
	policy := tenants.DefaultPolicy()
	if spec.Policy != nil {
		policy = *spec.Policy
	}
	t := tenants.Tenant{Slug: spec.Slug, Name: spec.Name, Branding: spec.Branding, DefaultLocale: spec.DefaultLocale, Policy: policy}
	if err := t.Validate(); err != nil {
		return tenants.Tenant{}, fmt.Errorf("tenant %s: %w", spec.Slug, err)
	}
	platformHost := tenants.PlatformHost(spec.Slug, spec.PlatformDomain)
	hosts := []tenants.Host{{Host: platformHost, Primary: !spec.CustomPrimary || len(spec.Hosts) == 0}}
	for i, h := range spec.Hosts {
		n, err := tenants.NormalizeHost(h)
		if err != nil {
			return tenants.Tenant{}, fmt.Errorf("host %q: %w", h, err)
		}
		hosts = append(hosts, tenants.Host{Host: n, Primary: spec.CustomPrimary && i == 0})
	}
	for _, h := range hosts {
		if h.Primary {
			t.CanonicalHost = h.Host
		}
	}
	t, err := st.Platform().CreateTenant(ctx, t, hosts)
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant %s: %w", spec.Slug, err)
	}
	ts := st.Tenant(t.ID)
	orgs := spec.Organisations
	if len(orgs) == 0 {
		orgs = []tenants.Organisation{{Name: "Everyone"}}
	}
	for _, o := range orgs {
		if err := o.Validate(); err != nil {
			return t, fmt.Errorf("organisation %q: %w", o.Name, err)
		}
		if _, err := ts.CreateOrganisation(ctx, o); err != nil {
			return t, fmt.Errorf("create organisation %q: %w", o.Name, err)
		}
	}
	if _, err := ts.AppendAudit(ctx, tenants.AuditEvent{Actor: "operator", Action: "tenant.create", Target: "tenant:" + t.Slug, Outcome: "success",
		Detail: map[string]string{"hosts": hostList(hosts)}}); err != nil {
		return t, fmt.Errorf("audit tenant creation: %w", err)
	}
	return ts.Get(ctx)
}

func hostList(hs []tenants.Host) string {
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.Host
	}
	return strings.Join(names, ",")
}

func newTenantCreateCmd() *cobra.Command {
	var (
		sc      storageConfig
		spec    tenantSpec
		primary bool
	)
	cmd := &cobra.Command{
		Use:   "create --slug SLUG --name NAME --platform-domain DOMAIN [--host HOST]...",
		Short: "Create a tenant with its platform host <slug>.<platform-domain>",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec.PlatformDomain == "" {
				return fmt.Errorf("--platform-domain (%s) is required", envName("platform-domain"))
			}
			if strings.TrimSpace(spec.Name) == "" {
				return errors.New("--name is required")
			}
			spec.CustomPrimary = primary
			return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
				t, err := createTenant(ctx, st, spec)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created tenant %s (%s)\nsign-in page: %s\n", t.Slug, t.ID,
					tenants.LinkBuilder{PlatformDomain: spec.PlatformDomain, Scheme: "https"}.URL(&t, "/signin"))
				return nil
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&spec.Slug, "slug", "", "short lower-case name; the platform host is <slug>.<platform-domain>")
	cmd.Flags().StringVar(&spec.Name, "name", "", "the company's name, shown to its users")
	cmd.Flags().StringVar(&spec.PlatformDomain, "platform-domain", "", "the platform's domain")
	cmd.Flags().StringSliceVar(&spec.Hosts, "host", nil, "custom host names (e.g. passwords.acme.com); repeatable")
	cmd.Flags().BoolVar(&primary, "primary", false, "make the first --host the canonical host for links")
	cmd.Flags().StringVar(&spec.DefaultLocale, "locale", "en", "default language of the portal (en, de)")
	return cmd
}

func newTenantListCmd() *cobra.Command {
	var sc storageConfig
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tenants with their hosts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
				ts, err := st.Platform().ListTenants(ctx)
				if err != nil {
					return fmt.Errorf("list tenants: %w", err)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SLUG\tNAME\tID\tCANONICAL HOST\tHOSTS")
				for _, t := range ts {
					hs, err := st.Tenant(t.ID).ListHosts(ctx)
					if err != nil {
						return fmt.Errorf("list hosts of %s: %w", t.Slug, err)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Slug, t.Name, t.ID, t.CanonicalHost, hostList(hs))
				}
				return w.Flush()
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	return cmd
}

func newTenantAddHostCmd() *cobra.Command {
	var (
		sc      storageConfig
		slug    string
		primary bool
	)
	cmd := &cobra.Command{
		Use:   "add-host --tenant SLUG HOST",
		Short: "Add a custom host (e.g. passwords.acme.com) to a tenant",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := tenants.NormalizeHost(args[0])
			if err != nil {
				return fmt.Errorf("host %q: %w", args[0], err)
			}
			return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
				t, err := tenantBySlug(ctx, st, slug)
				if err != nil {
					return err
				}
				ts := st.Tenant(t.ID)
				if err := ts.AddHost(ctx, tenants.Host{Host: host, Primary: primary}); err != nil {
					if errors.Is(err, store.ErrAlreadyExists) {
						return fmt.Errorf("host %s is already in use", host)
					}
					return fmt.Errorf("add host: %w", err)
				}
				if _, err := ts.AppendAudit(ctx, tenants.AuditEvent{Actor: "operator", Action: "host.add", Target: "host:" + host, Outcome: "success",
					Detail: map[string]string{"primary": fmt.Sprint(primary)}}); err != nil {
					return fmt.Errorf("audit host addition: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added %s to %s\n", host, t.Slug)
				return nil
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	cmd.Flags().BoolVar(&primary, "primary", false, "make it the canonical host for links")
	return cmd
}

func tenantBySlug(ctx context.Context, st store.Store, slug string) (tenants.Tenant, error) {
	if slug == "" {
		return tenants.Tenant{}, errors.New("--tenant is required")
	}
	t, err := st.Platform().TenantBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return t, fmt.Errorf("no tenant %q", slug)
	}
	if err != nil {
		return t, fmt.Errorf("find tenant %q: %w", slug, err)
	}
	return t, nil
}

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Work with the tenants' audit logs"}
	var (
		sc   storageConfig
		slug string
	)
	verify := &cobra.Command{
		Use:   "verify --tenant SLUG",
		Short: "Prove a tenant's hash-chained audit log is intact, or name its first broken link",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
				t, err := tenantBySlug(ctx, st, slug)
				if err != nil {
					return err
				}
				n, err := verifyAudit(ctx, st.Tenant(t.ID))
				if err != nil {
					return fmt.Errorf("tenant %s: %w", t.Slug, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "audit log of %s intact: %d events\n", t.Slug, n)
				return nil
			})
		},
	}
	sc.register(verify.Flags(), "latchkey-data")
	verify.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	cmd.AddCommand(verify, newAuditExportCmd())
	return cmd
}

// verifyAudit walks a tenant's audit log page by page through the chain verifier.
func verifyAudit(ctx context.Context, ts store.TenantStore) (int64, error) {
	var v audit.Verifier
	after := int64(0)
	for {
		page, err := ts.ListAudit(ctx, after, 500)
		if err != nil {
			return v.Count(), fmt.Errorf("read audit log: %w", err)
		}
		for _, e := range page {
			if err := v.Add(e); err != nil {
				return v.Count(), err
			}
			after = e.Seq
		}
		if len(page) < 500 {
			return v.Count(), nil
		}
	}
}
