package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/latchkey/latchkey/connector/agent"
	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/connector/directory/demodir"
	"github.com/latchkey/latchkey/connector/enroll"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/tenants"
)

// demoConnector is one in-process connector of `latchkey demo`: the real agent,
// enrolled through the real enrollment service with a real join token, dialling
// this process's hub over the real WebSocket — in front of the in-memory demo
// directory (package demodir), or of a real directory when the demo is given a
// connector configuration file.
type demoConnector struct {
	slug  string
	agent *agent.Agent
	dir   string // what it serves, for the banner
}

// startDemoConnectors enrolls (on first start) and runs one connector per demo
// tenant. realConfig, when set, is a latchkey-connector configuration file
// whose directory the first tenant's connector uses instead of the demo one.
// The agents stop when ctx ends.
func (s *server) startDemoConnectors(ctx context.Context, dataDir, realConfig string, slugs []string) ([]demoConnector, error) {
	var out []demoConnector
	for i, slug := range slugs {
		t, err := s.store.Platform().TenantBySlug(ctx, slug)
		if err != nil {
			return nil, fmt.Errorf("demo connector %s: %w", slug, err)
		}
		home := filepath.Join(dataDir, "connector-"+slug)
		id, err := s.demoIdentity(ctx, t, home)
		if err != nil {
			return nil, fmt.Errorf("demo connector %s: %w", slug, err)
		}
		var (
			dir   directory.Directory
			rails agent.Guardrails
			desc  string
		)
		if i == 0 && realConfig != "" {
			lc, err := agent.LoadLocalConfig(realConfig)
			if err != nil {
				return nil, err
			}
			dcfg, err := lc.DirectoryConfig()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", realConfig, err)
			}
			if dir, err = directory.New(dcfg); err != nil {
				return nil, fmt.Errorf("%s: %w", realConfig, err)
			}
			rails, desc = lc.Guardrails(), "in-process, directory "+dcfg.URLs[0]
		} else {
			d, err := demodir.New(demodir.Options{Tenant: slug})
			if err != nil {
				return nil, fmt.Errorf("demo directory %s: %w", slug, err)
			}
			dir = d
			rails = agent.Guardrails{OUs: []string{"OU=Staff," + demodir.BaseDN(slug)}, ProtectAdmins: true,
				ProtectedGroups: []string{demodir.DomainAdmins(slug)}, WritesPerMinute: 60, WriteBurst: 20}
			desc = "in-process, demo directory (in memory; users alice, bob, carol, password " + demodir.DefaultPassword + ")"
		}
		a, err := agent.New(agent.Options{Identity: id, Directory: agent.FromDirectory(dir), Guardrails: rails,
			StateDir: filepath.Join(home, "state"), Domains: []string{slug + ".local"}, Version: version,
			Logger: s.log.With(slog.String("component", "demo-connector"), slog.String("tenant", slug))})
		if err != nil {
			dir.Close()
			return nil, fmt.Errorf("demo connector %s: %w", slug, err)
		}
		go func() {
			defer dir.Close()
			defer a.Close()
			if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("demo connector stopped", slog.String("tenant", slug), slog.String("error", err.Error()))
			}
		}()
		out = append(out, demoConnector{slug: slug, agent: a, dir: desc})
	}
	return out, nil
}

// demoIdentity loads the connector identity kept under home, or enrolls a new
// connector with a fresh one-time join token, exactly as
// `latchkey-connector enroll` would. The hub URL always comes from this run
// (the demo may listen on another port than last time).
func (s *server) demoIdentity(ctx context.Context, t tenants.Tenant, home string) (agent.Identity, error) {
	path := filepath.Join(home, "identity.json")
	if id, err := agent.LoadIdentity(path); err == nil {
		_, err := s.store.Tenant(t.ID).GetConnector(ctx, id.ConnectorID)
		if err == nil && id.CommandKey.Equal(s.enroll.CommandKey) {
			id.HubURL = s.hubURL
			return id, nil
		}
		// The database was reset under the identity, or the command key changed
		// (the pinned key would refuse every command): enroll again.
	} else if !errors.Is(err, os.ErrNotExist) {
		return agent.Identity{}, err
	}
	tok, err := s.enroll.CreateToken(ctx, t.ID, "demo", 10*time.Minute)
	if err != nil {
		return agent.Identity{}, err
	}
	sign, sealPriv, sealPub, err := agent.NewKeys()
	if err != nil {
		return agent.Identity{}, err
	}
	resp, err := s.enroll.Enroll(ctx, t.ID, protocol.EnrollRequest{Token: tok.Token, Name: "demo connector (" + t.Slug + ")",
		SignKey: sign.Public().(ed25519.PublicKey), SealKey: sealPub, AgentVersion: version,
		Domains: []string{t.Slug + ".local"}}, enroll.Meta{UserAgent: "latchkey demo"})
	if err != nil {
		return agent.Identity{}, err
	}
	id := agent.Identity{HubURL: s.hubURL, TenantID: resp.TenantID, ConnectorID: resp.ConnectorID, SignKey: sign,
		SealKey: sealPriv, CommandKey: resp.CommandKey}
	if err := agent.SavePrivate(path, id); err != nil {
		return agent.Identity{}, err
	}
	return id, nil
}
