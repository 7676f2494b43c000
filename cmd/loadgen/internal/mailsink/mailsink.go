// Package mailsink is the load driver's SMTP server: plain SMTP (no TLS, no
// AUTH) on a loopback address that the control plane's notification worker
// delivers to (--smtp-tls none). It keeps the verification codes it
// receives in a codebox.Box, labelled with the subject (which names the
// tenant). Other mail (the "password was reset" confirmations) is counted
// and dropped.
package mailsink

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/latchkey/latchkey/cmd/loadgen/internal/codebox"
)

// Message is what the sink read from one delivered email.
type Message struct {
	To      []string // envelope recipients, lower case
	Subject string   // decoded
	Text    string   // the text/plain part, decoded, "\n" line ends
}

var codeRE = regexp.MustCompile(`Your verification code is: ([0-9]{4,10})`)

// Code returns the verification code in m's text, or "".
func (m Message) Code() string {
	if c := codeRE.FindStringSubmatch(m.Text); c != nil {
		return c[1]
	}
	return ""
}

// Parse reads a raw RFC 5322 message: its subject and its first text/plain
// part (quoted-printable and base64 decoded), descending into multipart
// bodies.
func Parse(raw []byte) (Message, error) {
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("mailsink: read message: %w", err)
	}
	var m Message
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("mailsink: subject: %w", err)
	}
	if err := textPart(textproto.MIMEHeader(pm.Header), pm.Body, &m, 0); err != nil {
		return m, err
	}
	return m, nil
}

func textPart(h textproto.MIMEHeader, body io.Reader, m *Message, depth int) error {
	if depth > 5 {
		return errors.New("mailsink: MIME nested too deeply")
	}
	ct, params := "text/plain", map[string]string{}
	if v := h.Get("Content-Type"); v != "" {
		var err error
		if ct, params, err = mime.ParseMediaType(v); err != nil {
			return fmt.Errorf("mailsink: content type %q: %w", v, err)
		}
	}
	if strings.HasPrefix(ct, "multipart/") {
		if params["boundary"] == "" {
			return errors.New("mailsink: multipart without a boundary")
		}
		mr := multipart.NewReader(body, params["boundary"])
		for m.Text == "" {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("mailsink: multipart: %w", err)
			}
			if err := textPart(p.Header, p, m, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if ct != "text/plain" || m.Text != "" {
		return nil
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips line ends
	}
	b, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return fmt.Errorf("mailsink: text part: %w", err)
	}
	m.Text = strings.ReplaceAll(string(b), "\r\n", "\n")
	return nil
}

// Sink is a running SMTP server. Its methods are safe for concurrent use.
type Sink struct {
	srv  *smtp.Server
	addr string
	box  *codebox.Box

	mu     sync.Mutex
	others int
	bad    int
}

// Start listens on addr (host:port; port 0 picks one) and serves until
// Close. Codes go into box.
func Start(addr string, box *codebox.Box) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailsink: listen %s: %w", addr, err)
	}
	s := &Sink{addr: ln.Addr().String(), box: box}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.MaxRecipients = 10
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the sink listens on.
func (s *Sink) Addr() string { return s.addr }

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// Counts returns how many messages without a code arrived and how many
// could not be read.
func (s *Sink) Counts() (others, unreadable int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.others, s.bad
}

func (s *Sink) deliver(to []string, raw []byte) {
	m, err := Parse(raw)
	c := m.Code()
	s.mu.Lock()
	switch {
	case err != nil:
		s.bad++
	case c == "":
		s.others++
	}
	s.mu.Unlock()
	if err == nil && c != "" {
		s.box.Put(to, m.Subject, c)
	}
}

type session struct {
	sink *Sink
	to   []string
}

func (ss *session) Mail(string, *smtp.MailOptions) error { ss.to = nil; return nil }

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, strings.ToLower(to))
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("mailsink: data: %w", err)
	}
	ss.sink.deliver(ss.to, raw)
	return nil
}

func (ss *session) Reset()        { ss.to = nil }
func (ss *session) Logout() error { return nil }
