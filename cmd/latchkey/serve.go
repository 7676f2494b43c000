package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/portal"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

func newServeCmd() *cobra.Command {
	var (
		sc  storageConfig
		srv serverConfig
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the control plane (portal, APIs, connector hub)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := errors.Join(sc.validate(), srv.validate()); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			log := newLogger(cmd.ErrOrStderr(), srv.LogFormat, srv.LogLevel)
			st, err := openStore(cmd.Context(), sc, log)
			if err != nil {
				return err
			}
			defer st.Close()
			s, err := newServer(srv, st, log)
			if err != nil {
				return err
			}
			return s.run(cmd.Context())
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	srv.register(cmd.Flags(), serverDefaults{Addr: ":8080", OpsAddr: "127.0.0.1:9090", Scheme: "https", LogFormat: "json"})
	return cmd
}

// server is one control-plane node: the portal listener and the operator
// listener over one store. Nodes keep no state of their own.
type server struct {
	cfg      serverConfig
	log      *slog.Logger
	store    store.Store
	resolver *tenants.Resolver
	links    tenants.LinkBuilder
	portal   *fiber.App
	ops      *fiber.App
	ln       net.Listener
	opsLn    net.Listener
}

func newServer(cfg serverConfig, st store.Store, log *slog.Logger) (*server, error) {
	proxies, err := tenants.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s := &server{cfg: cfg, log: log, store: st}
	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen on --addr %s: %w", cfg.Addr, err)
	}
	s.links = tenants.LinkBuilder{PlatformDomain: cfg.PlatformDomain, Scheme: cfg.PublicScheme, Port: cfg.PublicPort}
	if cfg.PublicPort == "0" {
		// --addr with port 0 (tests, a second demo): links use the port the kernel chose.
		_, s.links.Port, _ = net.SplitHostPort(s.ln.Addr().String())
	}
	s.resolver = tenants.NewResolver(resolverSource{st}, tenants.ResolverOptions{})
	deps := portal.Deps{
		Resolver: s.resolver,
		Ready:    st.Ping,
		Logger:   log,
		Registry: reg,
	}
	s.portal, err = portal.New(portal.Config{
		TrustedProxies: proxies,
		TLS:            cfg.tls(),
		BodyLimit:      cfg.BodyLimit,
		Links:          s.links,
		Version:        version,
	}, deps)
	if err != nil {
		s.ln.Close()
		return nil, fmt.Errorf("build portal: %w", err)
	}
	s.ops = portal.NewOps(deps)
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			s.ln.Close()
			return nil, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		s.ln = tls.NewListener(s.ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	if cfg.OpsAddr != "" {
		if s.opsLn, err = net.Listen("tcp", cfg.OpsAddr); err != nil {
			s.ln.Close()
			return nil, fmt.Errorf("listen on --ops-addr %s: %w", cfg.OpsAddr, err)
		}
	}
	return s, nil
}

// addr is the portal's bound address (useful with port 0).
func (s *server) addr() string { return s.ln.Addr().String() }

// opsAddr is the operator listener's bound address, or "".
func (s *server) opsAddr() string {
	if s.opsLn == nil {
		return ""
	}
	return s.opsLn.Addr().String()
}

// run serves until ctx is done, then shuts down gracefully: it stops accepting,
// lets requests in flight finish (up to the shutdown timeout) and returns.
func (s *server) run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.portal.Listener(s.ln) }()
	if s.opsLn != nil {
		go func() { errc <- s.ops.Listener(s.opsLn) }()
	}
	s.log.InfoContext(ctx, "latchkey serving", slog.String("addr", s.addr()), slog.String("ops_addr", s.opsAddr()), slog.String("version", version))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		serveErr = fmt.Errorf("listener stopped: %w", serveErr)
	}
	s.log.Info("shutting down", slog.Duration("timeout", s.cfg.ShutdownTimeout))
	shutdownErr := s.portal.ShutdownWithTimeout(s.cfg.ShutdownTimeout)
	if s.opsLn != nil {
		shutdownErr = errors.Join(shutdownErr, s.ops.ShutdownWithTimeout(time.Second))
	}
	if shutdownErr != nil {
		shutdownErr = fmt.Errorf("graceful shutdown: %w", shutdownErr)
	}
	return errors.Join(serveErr, shutdownErr)
}
