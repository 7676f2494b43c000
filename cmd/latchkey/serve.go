package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/connector/enroll"
	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/connector/relay"
	"github.com/latchkey/latchkey/portal"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/retention"
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
			// The key first: a missing one is named before any database is touched.
			key, err := loadCommandKey(srv.Connector, sc, log)
			if err != nil {
				return err
			}
			srv.commandKey = key
			if srv.SelfService.secretKey, err = loadSecretKey(srv.SelfService, sc, log); err != nil {
				return err
			}
			srv.relayURL = sc.DatabaseURL
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
	srv.register(cmd.Flags(), serverDefaults{Addr: ":8080", OpsAddr: "127.0.0.1:9090", ConnectorAddr: ":8081", Scheme: "https", LogFormat: "json"})
	return cmd
}

// server is one control-plane node: the portal listener, the connector hub's
// listener and the operator listener over one store. Nodes keep no state of
// their own beyond the connector sockets they hold.
type server struct {
	cfg      serverConfig
	log      *slog.Logger
	store    store.Store
	resolver *tenants.Resolver
	links    tenants.LinkBuilder
	self     *selfService
	portal   *fiber.App
	ops      *fiber.App
	ln       net.Listener
	opsLn    net.Listener

	// The connector side: the hub on its own net/http listener (see package
	// hub for why), the process's one Dispatcher and the enrollment service.
	hub        *hub.Hub
	hubSrv     *http.Server
	hubLn      net.Listener
	hubURL     string
	dispatcher *hub.Dispatcher
	enroll     *enroll.Service
	// On PostgreSQL: the relay to other nodes and its own pool.
	relay     *relay.Relay
	relayPool *pgxpool.Pool
}

// openRelay connects the cross-node command relay (PostgreSQL only).
func (s *server) openRelay(cfg serverConfig, log *slog.Logger) error {
	pool, err := pgxpool.New(context.Background(), cfg.relayURL)
	if err != nil {
		return errors.New("command relay: the database URL does not parse") // the error may quote the password
	}
	node := cfg.Connector.NodeID
	if node == "" {
		node = relay.NewNodeID()
	}
	rel, err := relay.New(pool, node, relay.Options{Logger: log.With(slog.String("node_id", node))})
	if err != nil {
		pool.Close()
		return fmt.Errorf("command relay: %w", err)
	}
	s.relay, s.relayPool = rel, pool
	return nil
}

// closeRelay removes this node's presence and closes the relay's pool.
func (s *server) closeRelay() error {
	if s.relay == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.relay.Close(ctx)
	s.relayPool.Close()
	s.relay = nil
	return err
}

func newServer(cfg serverConfig, st store.Store, log *slog.Logger) (*server, error) {
	proxies, err := tenants.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if len(cfg.commandKey) != ed25519.PrivateKeySize {
		return nil, errors.New("no command-signing key loaded (see --command-key-file)")
	}
	s := &server{cfg: cfg, log: log, store: st}
	var tlsConf *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen on --addr %s: %w", cfg.Addr, err)
	}
	if s.hubLn, err = net.Listen("tcp", cfg.Connector.Addr); err != nil {
		s.ln.Close()
		return nil, fmt.Errorf("listen on --connector-addr %s: %w", cfg.Connector.Addr, err)
	}
	base := cfg.Connector.PublicURL
	if base == "" {
		base = derivedHubBase(s.hubLn.Addr(), tlsConf != nil)
	}
	if base, err = hubBase(base); err != nil {
		s.ln.Close()
		s.hubLn.Close()
		return nil, fmt.Errorf("--connector-public-url: %w", err)
	}
	s.hubURL = base + protocol.ConnectPath
	hubLog := log.With(slog.String("component", "connector-hub"))
	hubOpts := hub.Options{Store: hubStore{st}, Logger: hubLog, Recheck: cfg.Connector.Recheck}
	if cfg.relayURL != "" {
		// Several nodes share one PostgreSQL: presence of this node's
		// connectors, and commands relayed to whichever node holds one.
		if err := s.openRelay(cfg, hubLog); err != nil {
			s.ln.Close()
			s.hubLn.Close()
			return nil, err
		}
		hubOpts.OnChange = s.relay.OnChange
	}
	s.hub = hub.New(hubOpts)
	s.hubSrv = &http.Server{Handler: s.hub, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(hubLog.Handler(), slog.LevelWarn)}
	s.dispatcher = &hub.Dispatcher{Hub: s.hub, Key: cfg.commandKey, Log: hubLog}
	if s.relay != nil {
		if err := s.relay.Start(context.Background(), s.hub); err != nil {
			s.closeListeners() // also stops the hub's loop and closes the relay
			return nil, fmt.Errorf("start the command relay: %w", err)
		}
		s.dispatcher.Remote = s.relay // never a nil *relay.Relay: see hub.Dispatcher.Remote
	}
	s.enroll = &enroll.Service{Store: st, HubURL: s.hubURL, CommandKey: cfg.commandKey.Public().(ed25519.PublicKey), Log: log}
	s.links = tenants.LinkBuilder{PlatformDomain: cfg.PlatformDomain, Scheme: cfg.PublicScheme, Port: cfg.PublicPort}
	if cfg.PublicPort == "0" {
		// --addr with port 0 (tests, a second demo): links use the port the kernel chose.
		_, s.links.Port, _ = net.SplitHostPort(s.ln.Addr().String())
	}
	s.resolver = tenants.NewResolver(resolverSource{st}, tenants.ResolverOptions{})
	if s.self, err = newSelfService(cfg, st, s.dispatcher, s.links, log); err != nil {
		s.closeListeners()
		return nil, fmt.Errorf("self-service: %w", err)
	}
	s.self.worker.Registerer = reg
	deps := portal.Deps{
		Resolver: s.resolver,
		Ready:    st.Ping,
		Logger:   log,
		Registry: reg,
		// Enrollment answers on the tenants' hosts; the Dispatcher is there
		// for the self-service flows.
		Enroller:    s.enroll,
		Dispatcher:  s.dispatcher,
		Flow:        s.self.engine,
		Account:     s.self.account,
		DrawCaptcha: s.self.captcha,
		Mobile:      s.self.mobile,
	}
	s.portal, err = portal.New(portal.Config{
		TrustedProxies: proxies,
		TLS:            cfg.tls(),
		BodyLimit:      cfg.BodyLimit,
		Links:          s.links,
		Version:        version,
	}, deps)
	if err != nil {
		s.closeListeners()
		return nil, fmt.Errorf("build portal: %w", err)
	}
	s.ops = portal.NewOps(deps)
	if tlsConf != nil {
		s.ln = tls.NewListener(s.ln, tlsConf)
		s.hubLn = tls.NewListener(s.hubLn, tlsConf)
	}
	if cfg.OpsAddr != "" {
		if s.opsLn, err = net.Listen("tcp", cfg.OpsAddr); err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("listen on --ops-addr %s: %w", cfg.OpsAddr, err)
		}
	}
	return s, nil
}

func (s *server) closeListeners() {
	s.ln.Close()
	s.hubLn.Close()
	_ = s.hub.Shutdown(context.Background()) // no sessions yet: stops its loop
	_ = s.closeRelay()
}

// hubAddr is the connector hub's bound address.
func (s *server) hubAddr() string { return s.hubLn.Addr().String() }

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
	errc := make(chan error, 3)
	go func() { errc <- s.portal.Listener(s.ln) }()
	if s.opsLn != nil {
		go func() { errc <- s.ops.Listener(s.opsLn) }()
	}
	go func() {
		if err := s.hubSrv.Serve(s.hubLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("connector hub: %w", err)
		}
	}()
	workerCtx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		if err := s.self.worker.Run(workerCtx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("notification worker stopped", slog.Any("err", err))
		}
	}()
	defer func() { stopWorker(); <-workerDone }()
	if s.cfg.PurgeInterval > 0 {
		sw := &retention.Sweeper{Store: s.store, Retention: s.cfg.Retention, Interval: s.cfg.PurgeInterval,
			Logger: s.log.With(slog.String("component", "retention"))}
		sweepDone := make(chan struct{})
		go func() {
			defer close(sweepDone)
			_ = sw.Run(workerCtx) // it logs its own errors and stops with the worker
		}()
		defer func() { stopWorker(); <-sweepDone }()
	}
	s.log.InfoContext(ctx, "latchkey serving", slog.String("addr", s.addr()), slog.String("ops_addr", s.opsAddr()),
		slog.String("connector_addr", s.hubAddr()), slog.String("hub_url", s.hubURL), slog.String("version", version))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		serveErr = fmt.Errorf("listener stopped: %w", serveErr)
	}
	s.log.Info("shutting down", slog.Duration("timeout", s.cfg.ShutdownTimeout))
	// Connectors are asked to drain (finish in-flight commands, then close)
	// while the portal finishes its requests.
	hubDone := make(chan error, 1)
	go func() {
		hctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		err := s.hub.Shutdown(hctx)
		hubDone <- errors.Join(err, s.hubSrv.Shutdown(hctx))
	}()
	shutdownErr := s.portal.ShutdownWithTimeout(s.cfg.ShutdownTimeout)
	shutdownErr = errors.Join(shutdownErr, <-hubDone)
	// After the portal and the hub: in-flight requests may wait on relayed
	// commands, and a draining hub may still answer some.
	shutdownErr = errors.Join(shutdownErr, s.closeRelay())
	if s.opsLn != nil {
		shutdownErr = errors.Join(shutdownErr, s.ops.ShutdownWithTimeout(time.Second))
	}
	if shutdownErr != nil {
		shutdownErr = fmt.Errorf("graceful shutdown: %w", shutdownErr)
	}
	return errors.Join(serveErr, shutdownErr)
}
