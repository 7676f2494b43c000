package main

import (
	"context"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/tenants"
)

// devMailbox is the demo's mailbox and SMS outbox: it accepts every email
// and SMS the outbox worker delivers and shows them on a page of its own, so
// a newcomer can finish every flow in a browser without a mail server. It is
// never used by `serve`.
type devMailbox struct {
	mu   sync.Mutex
	msgs []devMessage // newest first
}

type devMessage struct {
	Time    time.Time
	Channel string
	To      string
	Subject string
	Text    string
	Tenant  tenants.ID
}

const devMailboxKeep = 200

var _ notify.EmailSender = (*devMailbox)(nil)
var _ notify.SMSSender = (*devMailbox)(nil)

func (m *devMailbox) add(d devMessage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append([]devMessage{d}, m.msgs...)
	if len(m.msgs) > devMailboxKeep {
		m.msgs = m.msgs[:devMailboxKeep]
	}
}

// SendEmail implements notify.EmailSender.
func (m *devMailbox) SendEmail(ctx context.Context, e notify.Email) error {
	m.add(devMessage{Time: time.Now(), Channel: "email", To: e.To, Subject: e.Subject, Text: e.Text})
	return nil
}

// SendSMS implements notify.SMSSender.
func (m *devMailbox) SendSMS(ctx context.Context, tenant tenants.ID, to, text string) error {
	m.add(devMessage{Time: time.Now(), Channel: "sms", To: to, Text: text, Tenant: tenant})
	return nil
}

// Messages returns the messages, newest first.
func (m *devMailbox) Messages() []devMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]devMessage(nil), m.msgs...)
}

var devMailboxPage = template.Must(template.New("mailbox").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5"><title>Latchkey demo mailbox</title></head>
<body><main>
<h1>Demo mailbox and SMS outbox</h1>
<p>Every email and text message the demo sends lands here (newest first; the page refreshes every 5 seconds).</p>
{{- range .}}
<article><h2>{{if eq .Channel "sms"}}SMS{{else}}Email{{end}} to {{.To}}</h2>
<p><small>{{.Time.Format "15:04:05"}}</small>{{with .Subject}} — <strong>{{.}}</strong>{{end}}</p>
<pre>{{.Text}}</pre></article>
{{- else}}
<p>Nothing yet. Start a reset on a demo tenant and choose an email or text-message code.</p>
{{- end}}
</main></body></html>`))

// ServeHTTP shows the mailbox.
func (m *devMailbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	_ = devMailboxPage.Execute(w, m.Messages())
}
