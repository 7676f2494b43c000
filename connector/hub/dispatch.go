package hub

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/connector/protocol"
)

// Request is what the control plane asks a connector to do. Passwords are
// sealed to the connector and then zeroed in place.
type Request struct {
	Op          protocol.Op
	Target      string // objectGUID
	Login       string // lookup only
	Password    []byte
	OldPassword []byte
	Unlock      bool
	MustChange  bool
	// Domain, when set, is the directory domain of the account (e.g.
	// corp.example.com): only connectors enrolled for it may run the
	// command. A tenant with several domains has connectors for each.
	Domain string
}

// Status is the one definite answer a caller gets.
type Status string

// The answers.
const (
	Done           Status = "done"
	Refused        Status = "refused"         // the connector would not run it (Reason)
	DirectoryError Status = "directory_error" // the directory said no (Code)
	Offline        Status = "offline"         // no connector of the tenant is connected: nothing was sent
	TimedOut       Status = "timed_out"       // never delivered in time; it has expired and can no longer run
	Unknown        Status = "unknown"         // delivered, but no answer came back before the deadline
)

// Outcome is the answer to Execute.
type Outcome struct {
	Status    Status
	Reason    protocol.Refusal
	Code      string
	Data      json.RawMessage
	CommandID string
	Connector string
}

// Dispatcher turns requests into signed commands and waits for their outcome.
type Dispatcher struct {
	Hub *Hub
	// Key signs commands; connectors pin its public half at enrollment.
	Key ed25519.PrivateKey
	// TTL is a command's lifetime (≤ protocol.MaxCommandTTL); the caller waits at
	// most TTL plus Grace for an answer.
	TTL, Grace time.Duration
	// ConnectWait is how long Execute waits for a connector to (re)connect
	// before answering Offline (default 3 s): a blip is not an outage.
	ConnectWait time.Duration
	Now         func() time.Time
	Log         *slog.Logger
	// Remote, when set, reaches the tenant's connectors whose sockets other
	// control-plane nodes hold (package connector/relay). Execute prefers a
	// connector connected to this node.
	Remote Remote

	seq atomic.Uint64
}

// Execute runs req on one of the tenant's connected connectors and returns one
// definite outcome. A command is delivered to one connector only; if that
// connection drops, the same signed command (same id) is sent again when the
// connector is back, and the connector's journal makes sure it runs once and
// returns its first result.
func (d *Dispatcher) Execute(ctx context.Context, tenantID string, req Request) Outcome {
	defer protocol.Zero(req.Password)
	defer protocol.Zero(req.OldPassword)
	now, ttl, grace := time.Now, d.TTL, d.Grace
	if d.Now != nil {
		now = d.Now
	}
	if ttl <= 0 || ttl > protocol.MaxCommandTTL {
		ttl = 30 * time.Second
	}
	if grace <= 0 {
		grace = 2 * time.Second
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	connector, s, remote := d.pick(ctx, tenantID, req.Domain)
	var rec ConnectorRecord
	switch {
	case s != nil:
		rec = s.rec
	case remote:
		// Held by another node: its keys come from the store.
		var err error
		if rec, err = d.Hub.opt.Store.Connector(ctx, connector); err != nil || rec.TenantID != tenantID || rec.Revoked {
			log.WarnContext(ctx, "connector present elsewhere but not usable", slog.String("connector_id", connector), slog.String("error", fmt.Sprint(err)))
			return Outcome{Status: Offline}
		}
	default:
		return Outcome{Status: Offline}
	}
	var idb [16]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return Outcome{Status: Offline}
	}
	issued := now().UTC().Truncate(time.Millisecond)
	body := protocol.CommandBody{V: protocol.Version, ID: hex.EncodeToString(idb[:]), Tenant: tenantID, Connector: connector,
		Seq: d.seq.Add(1), Op: req.Op, Target: req.Target, Login: req.Login, Unlock: req.Unlock, MustChange: req.MustChange,
		IssuedAt: issued, ExpiresAt: issued.Add(ttl)}
	out := Outcome{CommandID: body.ID, Connector: connector}
	var err error
	if req.Password != nil {
		if body.Password, err = protocol.SealSecret(rec.SealKey, req.Password, protocol.SecretAAD(body.ID, tenantID, req.Target, "password")); err != nil {
			log.ErrorContext(ctx, "seal password", slog.String("error", err.Error()))
			out.Status, out.Reason = Refused, protocol.RefuseBadPayload
			return out
		}
	}
	if req.OldPassword != nil {
		if body.OldPassword, err = protocol.SealSecret(rec.SealKey, req.OldPassword, protocol.SecretAAD(body.ID, tenantID, req.Target, "old_password")); err != nil {
			out.Status, out.Reason = Refused, protocol.RefuseBadPayload
			return out
		}
	}
	sc, err := protocol.SignCommand(d.Key, body)
	if err != nil {
		out.Status, out.Reason = Refused, protocol.RefuseMalformed
		return out
	}

	wctx, cancel := context.WithDeadline(ctx, body.ExpiresAt.Add(grace))
	defer cancel()
	if remote {
		return d.relay(wctx, log, out, rec, body, sc)
	}
	r, delivered, err := d.Hub.sendUntilAnswered(wctx, s, tenantID, connector, body.ID, sc, func() {
		log.InfoContext(ctx, "connector connection lost during a command; will resend when it is back", slog.String("cmd_id", body.ID))
	})
	if err != nil {
		return d.finalOutcome(out, delivered)
	}
	return mapResult(out, r.body)
}

// pick chooses one of the tenant's connectors, preferring one connected to
// this node. With none here it asks Remote for one whose socket another node
// holds; with none anywhere it waits up to ConnectWait for either (a blip is
// not an outage), checking Remote every remotePoll. remote reports that the
// connector is held elsewhere (s is then nil).
func (d *Dispatcher) pick(ctx context.Context, tenantID, domain string) (id string, s *session, remote bool) {
	wait := d.ConnectWait
	if wait <= 0 {
		wait = 3 * time.Second
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var poll <-chan time.Time
	if d.Remote != nil {
		t := time.NewTicker(min(remotePoll, wait))
		defer t.Stop()
		poll = t.C
	}
	for {
		changed := d.Hub.waitChange()
		var local []*session
		for _, id := range d.Hub.Connected(tenantID) {
			if s := d.Hub.session(id); s != nil && !s.isClosed() && s.rec.Serves(domain) {
				local = append(local, s)
			}
		}
		if len(local) > 0 {
			s := local[mrand.IntN(len(local))]
			return s.rec.ID, s, false
		}
		if d.Remote != nil {
			ids, err := d.Remote.Present(ctx, tenantID)
			if err != nil && d.Log != nil {
				d.Log.WarnContext(ctx, "look for connectors on other nodes", slog.String("error", err.Error()))
			}
			if domain != "" {
				ids = d.serving(ctx, ids, domain)
			}
			if len(ids) > 0 {
				return ids[mrand.IntN(len(ids))], nil, true
			}
		}
		select {
		case <-changed:
		case <-poll:
		case <-timer.C:
			return "", nil, false
		case <-ctx.Done():
			return "", nil, false
		}
	}
}

// serving keeps the connectors (held by other nodes) enrolled for domain.
func (d *Dispatcher) serving(ctx context.Context, ids []string, domain string) []string {
	var out []string
	for _, id := range ids {
		if rec, err := d.Hub.opt.Store.Connector(ctx, id); err == nil && !rec.Revoked && rec.Serves(domain) {
			out = append(out, id)
		}
	}
	return out
}

func (d *Dispatcher) finalOutcome(out Outcome, delivered bool) Outcome {
	if delivered {
		out.Status = Unknown
	} else {
		out.Status = TimedOut
	}
	return out
}

func mapResult(out Outcome, r protocol.ResultBody) Outcome {
	switch r.Status {
	case protocol.StatusDone:
		out.Status, out.Data = Done, r.Data
	case protocol.StatusRefused:
		out.Status, out.Reason, out.Code = Refused, r.Reason, r.Code
	default:
		out.Status, out.Code = DirectoryError, r.Code
	}
	return out
}

// String describes an outcome for logs.
func (o Outcome) String() string {
	return fmt.Sprintf("%s reason=%s code=%s cmd=%s", o.Status, o.Reason, o.Code, o.CommandID)
}
