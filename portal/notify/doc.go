// Package notify is Latchkey's notifications: it renders messages from
// templates, queues them in a durable outbox and delivers them by email
// (SMTP) and SMS (Twilio, a signed webhook, or a tenant's own provider).
//
// The parts:
//
//   - Render turns a kind (KindEmailCode, KindResetDone, …), a language
//     (en, de) and Data into Content, from the tenant's own template
//     (tenants.SelfServiceSettings.Messages) or the built-in default.
//     Only the two code kinds ever see the code: every notification is free
//     of secrets (R14). ValidateTemplate checks a template an admin sets.
//   - Sealer seals Content with AES-256-GCM bound to tenant and message, so
//     the database only holds ciphertext (a code is never stored in clear,
//     R22), and seals tenants' SMS provider secrets.
//   - Outbox.Enqueue stores a sealed, pending message and returns: a flow
//     never waits for a provider.
//   - Worker delivers the outbox with leases, retries with backoff and a
//     dead state after MaxAttempts; a provider outage loses nothing and an
//     accepted message is not sent twice (R60, see Worker).
//   - SMTPSender, TwilioSender, WebhookSender and Router are the providers.
//
// Wiring (cmd/latchkey and portal/flow):
//
//	key := ...32 bytes from the configuration (e.g. --notify-key-file)...
//	sealer, err := notify.NewSealer(key, nil)
//	w := &notify.Worker{
//		Store: st, Sealer: sealer, Logger: log, Registerer: reg,
//		Email: &notify.SMTPSender{Host: ..., Port: 587, Username: ..., Password: ...,
//			From: "Latchkey <noreply@example.com>"},          // TLS: STARTTLS required
//		SMS: &notify.Router{
//			Tenant:  func(ctx context.Context, id tenants.ID) (tenants.Tenant, error) { return st.Tenant(id).Get(ctx) },
//			Sealer:  sealer,
//			Default: &notify.TwilioSender{AccountSID: ..., AuthToken: ..., From: ...}, // or nil
//		},
//	}
//	go w.Run(ctx) // on every node; claims do not overlap
//	outbox := &notify.Outbox{Store: st, Sealer: sealer, Wake: w.Wake}
//
// A flow step then renders and enqueues in one call, and carries on
// (portal/flow's Messenger is a thin adapter over it; its Message.ExpiresIn
// becomes Data.ExpiresIn in whole minutes):
//
//	id, err := outbox.Notify(ctx, &tenant, tenants.MessageEmail, notify.KindResetDone, lang, u.Email,
//		notify.Data{DisplayName: u.DisplayName, Username: u.Username, Action: tenants.ActionReset,
//			Time: now, IP: ip, UserAgent: ua, ReportURL: reportURL})
//
// Notify uses Render for email and RenderSMS (short forms) for SMS and logs a
// *TemplateWarning instead of failing; Render + Enqueue do the same in two
// steps. For a code, use KindEmailCode or KindSMSCode with Data.Code and
// ExpiresIn. The admin API calls ValidateTemplate before saving a template,
// ValidateSMSProvider and Sealer.SealSecret before saving a tenant's SMS
// provider. notifytest has SMTP, Twilio and webhook test servers for
// end-to-end tests.
package notify
