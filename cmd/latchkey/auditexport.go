package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// auditLine is one exported audit event (JSON lines): every field, and the
// chain's hashes so that a SIEM can check continuity on its side.
type auditLine struct {
	Seq           int64             `json:"seq"`
	Time          time.Time         `json:"time"`
	Actor         string            `json:"actor"`
	Action        string            `json:"action"`
	Target        string            `json:"target"`
	IP            string            `json:"ip,omitempty"`
	UserAgent     string            `json:"user_agent,omitempty"`
	Outcome       string            `json:"outcome"`
	CorrelationID string            `json:"correlation_id,omitempty"`
	Detail        map[string]string `json:"detail,omitempty"`
	PrevHash      string            `json:"prev_hash"`
	Hash          string            `json:"hash"`
}

// newAuditExportCmd writes a tenant's audit events, oldest first, as JSON
// lines (for a SIEM) or a table (for a person), optionally only those after
// a sequence number, since a time, or about one user.
func newAuditExportCmd() *cobra.Command {
	var (
		sc       storageConfig
		slug     string
		username string
		since    string
		afterSeq int64
		format   string
	)
	cmd := &cobra.Command{
		Use:   "export --tenant SLUG [--user USERNAME] [--since TIME] [--after-seq N] [--format jsonl|table]",
		Short: "Write a tenant's audit events, oldest first (JSON lines for a SIEM, or a table)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "jsonl" && format != "table" {
				return fmt.Errorf("--format: %q is not jsonl or table", format)
			}
			var from time.Time
			if since != "" {
				var err error
				if from, err = parseSince(since, time.Now()); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
			}
			if afterSeq < 0 {
				return errors.New("--after-seq: must not be negative")
			}
			return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
				t, err := tenantBySlug(ctx, st, slug)
				if err != nil {
					return err
				}
				who := ""
				if username != "" {
					u, err := userByName(ctx, st, t, username)
					if err != nil {
						return err
					}
					who = "user:" + u.ID
				}
				keep := func(e tenants.AuditEvent) bool {
					return !e.Time.Before(from) && (who == "" || e.Actor == who || e.Target == who)
				}
				return exportAudit(ctx, cmd.OutOrStdout(), st.Tenant(t.ID), afterSeq, keep, format)
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	cmd.Flags().StringVar(&username, "user", "", "only events by or about this user")
	cmd.Flags().StringVar(&since, "since", "", "only events at or after this time (RFC 3339, or a duration back from now such as 24h)")
	cmd.Flags().Int64Var(&afterSeq, "after-seq", 0, "only events after this sequence number (resume an export)")
	cmd.Flags().StringVar(&format, "format", "jsonl", "jsonl or table")
	return cmd
}

// parseSince reads an RFC 3339 time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a positive duration", s)
	}
	return now.Add(-d), nil
}

func exportAudit(ctx context.Context, out io.Writer, ts store.TenantStore, after int64, keep func(tenants.AuditEvent) bool, format string) error {
	enc := json.NewEncoder(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if format == "table" {
		fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tTARGET\tOUTCOME\tIP\tDETAIL")
	}
	for {
		page, err := ts.ListAudit(ctx, after, 500)
		if err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		for _, e := range page {
			after = e.Seq
			if !keep(e) {
				continue
			}
			if format == "table" {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, stamp(e.Time), e.Actor, e.Action, e.Target, e.Outcome, orDash(e.IP), details(e.Detail))
				continue
			}
			if err := enc.Encode(auditLine{Seq: e.Seq, Time: e.Time.UTC(), Actor: e.Actor, Action: e.Action, Target: e.Target, IP: e.IP,
				UserAgent: e.UserAgent, Outcome: e.Outcome, CorrelationID: e.CorrelationID, Detail: e.Detail,
				PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		if len(page) < 500 {
			return tw.Flush()
		}
	}
}

// details renders an event's detail map as sorted key=value pairs.
func details(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}
