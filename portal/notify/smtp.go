package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP TLS policies (SMTPSender.TLS).
const (
	// TLSStartTLS requires STARTTLS; a server without it is refused (the
	// default: nothing goes out in clear).
	TLSStartTLS = "starttls"
	// TLSOpportunistic uses STARTTLS when offered, else sends in clear.
	TLSOpportunistic = "opportunistic"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit = "tls"
	// TLSNone never encrypts; allowed only for a loopback Host (tests).
	TLSNone = "none"
)

// DefaultDialTimeout bounds connecting to the SMTP server.
const DefaultDialTimeout = 10 * time.Second

// SMTPSender is an EmailSender that submits each message over its own SMTP
// connection (github.com/wneessen/go-mail) as multipart/alternative text and
// HTML. A 5xx reply to RCPT TO or DATA (recipient rejected, message refused)
// is Permanent; 4xx replies, connection, TLS and AUTH failures are retried by
// the worker.
type SMTPSender struct {
	Host string
	Port int // 0: 587, or 465 with TLSImplicit
	// Username and Password, when set, authenticate with AUTH PLAIN, or
	// LOGIN when the server offers only that.
	Username string
	Password string
	// From is the From header, e.g. "Acme IT <noreply@acme.example>"; its
	// address is also the envelope sender.
	From string
	// TLS is one of TLSStartTLS (when empty), TLSOpportunistic, TLSImplicit,
	// TLSNone.
	TLS string
	// RootCAs verifies the server's certificate (nil: the system pool).
	RootCAs *x509.CertPool
	// DialTimeout bounds connecting (DefaultDialTimeout when 0).
	DialTimeout time.Duration
	// HELO is the name sent in EHLO (empty: the local host name).
	HELO string
	// Now is the clock for the Date header (nil: time.Now).
	Now func() time.Time
}

// Validate checks the configuration.
func (s *SMTPSender) Validate() error {
	if s.Host == "" || s.From == "" {
		return errors.New("notify: smtp: host and from are required")
	}
	if s.Port < 0 || s.Port > 65535 {
		return fmt.Errorf("notify: smtp: bad port %d", s.Port)
	}
	switch s.TLS {
	case "", TLSStartTLS, TLSOpportunistic, TLSImplicit:
	case TLSNone:
		if !isLoopback(s.Host) {
			return fmt.Errorf("notify: smtp: TLS %q is allowed only for a loopback host, not %q", TLSNone, s.Host)
		}
	default:
		return fmt.Errorf("notify: smtp: unknown TLS policy %q", s.TLS)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *SMTPSender) options() []gomail.Option {
	tlsConf := &tls.Config{ServerName: s.Host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}
	opts := []gomail.Option{
		gomail.WithTLSConfig(tlsConf),
		gomail.WithTimeout(orDefault(s.DialTimeout, DefaultDialTimeout)),
	}
	port := s.Port
	switch s.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
		if port == 0 {
			port = 465
		}
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if port == 0 {
		port = 587
	}
	opts = append(opts, gomail.WithPort(port))
	if s.Username != "" {
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	if s.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.HELO))
	}
	return opts
}

// SendEmail submits m. ctx bounds the whole exchange.
func (s *SMTPSender) SendEmail(ctx context.Context, m Email) error {
	if err := s.Validate(); err != nil {
		return Permanent(err)
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := msg.From(s.From); err != nil {
		return Permanent(fmt.Errorf("notify: smtp: from: %w", err))
	}
	if err := msg.To(m.To); err != nil {
		return Permanent(fmt.Errorf("notify: smtp: recipient: %w", err))
	}
	msg.Subject(m.Subject)
	if id := strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">"); id != "" {
		msg.SetMessageIDWithValue(id)
	}
	msg.SetDateWithValue(clock(s.Now)())
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	client, err := gomail.NewClient(s.Host, s.options()...)
	if err != nil {
		return Permanent(fmt.Errorf("notify: smtp: %w", err))
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return classifySMTP(err)
	}
	return nil
}

// classifySMTP marks a 5xx reply to the recipient or the content as
// permanent. A 5xx elsewhere (AUTH, MAIL FROM) is our configuration, which an
// operator can fix while the message waits, so it is retried.
func classifySMTP(err error) error {
	err = fmt.Errorf("notify: smtp: %w", err)
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		switch se.Reason {
		case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			return Permanent(err)
		}
	}
	return err
}
