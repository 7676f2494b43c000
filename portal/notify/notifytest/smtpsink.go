package notifytest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/latchkey/latchkey/portal/notify"
)

// SMTPOptions configure an SMTPSink.
type SMTPOptions struct {
	// Username and Password, when set, are required (AUTH PLAIN, offered
	// only once the connection is encrypted) before MAIL FROM.
	Username, Password string
	// ImplicitTLS speaks TLS from the first byte instead of offering
	// STARTTLS.
	ImplicitTLS bool
	// NoTLS offers neither STARTTLS nor TLS (then AUTH is allowed in clear).
	NoTLS bool
}

// Msg is one message the sink accepted, parsed. Text and HTML are decoded
// (quoted-printable, base64) with line ends as "\n".
type Msg struct {
	From      string   // envelope sender (MAIL FROM)
	To        []string // envelope recipients (RCPT TO)
	Header    mail.Header
	Subject   string // decoded
	MessageID string // as in the header, "<…>"
	Text      string
	HTML      string
	TLS       bool   // the session was encrypted
	User      string // the AUTH user, "" without AUTH
	Raw       []byte
	ParseErr  error // the body could not be parsed (Raw is still there)
}

// SMTPSink is a real SMTP server on 127.0.0.1 for tests. Start one with
// NewSMTPSink.
type SMTPSink struct {
	opts   SMTPOptions
	server *smtp.Server
	addr   *net.TCPAddr
	pool   *x509.CertPool
	msgs   recorder[Msg]
	fail   failer
}

// NewSMTPSink starts a sink on 127.0.0.1 (a free port) with a fresh
// self-signed certificate for 127.0.0.1 and localhost; it stops when tb ends.
func NewSMTPSink(tb testing.TB, opts SMTPOptions) *SMTPSink {
	tb.Helper()
	cert, pool, err := selfSigned()
	if err != nil {
		tb.Fatalf("notifytest: certificate: %v", err)
	}
	s := &SMTPSink{opts: opts, pool: pool}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{sink: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 4 << 20
	srv.MaxRecipients = 10
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if !opts.NoTLS {
		srv.TLSConfig = tlsConf
	}
	srv.AllowInsecureAuth = opts.NoTLS
	var ln net.Listener
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("notifytest: listen: %v", err)
	}
	s.addr = ln.Addr().(*net.TCPAddr)
	if opts.ImplicitTLS && !opts.NoTLS {
		ln = tls.NewListener(ln, tlsConf)
		srv.TLSConfig = nil // no STARTTLS inside TLS
	}
	s.server = srv
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return s
}

// Host is "127.0.0.1"; Port the sink's port; Addr both.
func (s *SMTPSink) Host() string { return "127.0.0.1" }
func (s *SMTPSink) Port() int    { return s.addr.Port }
func (s *SMTPSink) Addr() string { return s.addr.String() }

// CertPool holds the sink's self-signed certificate, for a client's RootCAs.
func (s *SMTPSink) CertPool() *x509.CertPool { return s.pool }

// Sender returns an SMTPSender configured for the sink (TLS policy, RootCAs,
// credentials) with the given From.
func (s *SMTPSink) Sender(from string) *notify.SMTPSender {
	policy := notify.TLSStartTLS
	switch {
	case s.opts.NoTLS:
		policy = notify.TLSNone
	case s.opts.ImplicitTLS:
		policy = notify.TLSImplicit
	}
	return &notify.SMTPSender{Host: s.Host(), Port: s.Port(), Username: s.opts.Username, Password: s.opts.Password,
		From: from, TLS: policy, RootCAs: s.pool, DialTimeout: 5 * time.Second}
}

// Messages returns what the sink accepted so far, in order.
func (s *SMTPSink) Messages() []Msg { return s.msgs.all() }

// WaitFor returns the first accepted message that matches, waiting for it
// until ctx ends.
func (s *SMTPSink) WaitFor(ctx context.Context, match func(Msg) bool) (Msg, error) {
	return s.msgs.waitFor(ctx, match)
}

// FailNext makes the next n messages fail with code: a 5xx code is the
// reply to RCPT TO (recipient rejected), any other code the reply at the end
// of DATA (e.g. 451, a temporary failure after the content was sent).
func (s *SMTPSink) FailNext(n, code int) { s.fail.set(n, code) }

type smtpSession struct {
	sink   *SMTPSink
	conn   *smtp.Conn
	user   string
	from   string
	to     []string
	failed int // code taken for the message in progress, 0 none
}

func (ss *smtpSession) AuthMechanisms() []string {
	if ss.sink.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.sink.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.sink.opts.Username || password != ss.sink.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.sink.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from, ss.to, ss.failed = from, nil, 0
	if code, ok := ss.sink.fail.take(); ok {
		ss.failed = code
	}
	return nil
}

func replyErr(code int) error {
	msg := "simulated temporary failure, try again later"
	if code/100 == 5 {
		msg = "simulated permanent failure: recipient rejected"
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.failed/100 == 5 {
		return replyErr(ss.failed)
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if ss.failed != 0 {
		return replyErr(ss.failed)
	}
	m := parseMessage(raw)
	_, m.TLS = ss.conn.TLSConnectionState()
	m.From, m.To, m.User = ss.from, ss.to, ss.user
	ss.sink.msgs.add(m)
	return nil
}

func (ss *smtpSession) Reset() { ss.from, ss.to, ss.failed = "", nil, 0 }

func (ss *smtpSession) Logout() error { return nil }

func parseMessage(raw []byte) Msg {
	m := Msg{Raw: raw}
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.ParseErr = err
		return m
	}
	m.Header = pm.Header
	m.MessageID = pm.Header.Get("Message-Id")
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject")); err != nil {
		m.ParseErr = err
	}
	if err := walkPart(textproto.MIMEHeader(pm.Header), pm.Body, &m, 0); err != nil {
		m.ParseErr = err
	}
	return m
}

func walkPart(h textproto.MIMEHeader, body io.Reader, m *Msg, depth int) error {
	if depth > 5 {
		return errors.New("MIME nested too deeply")
	}
	ct, params := "text/plain", map[string]string{}
	if v := h.Get("Content-Type"); v != "" {
		var err error
		if ct, params, err = mime.ParseMediaType(v); err != nil {
			return fmt.Errorf("content type %q: %w", v, err)
		}
	}
	if strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkPart(p.Header, p, m, depth+1); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &lineJoiner{r: body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s part: %w", ct, err)
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch ct {
	case "text/plain":
		if m.Text == "" {
			m.Text = s
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = s
		}
	}
	return nil
}

// lineJoiner drops CR and LF so base64 lines decode as one stream.
type lineJoiner struct{ r io.Reader }

func (l *lineJoiner) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	j := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}

// selfSigned makes a one-day ECDSA certificate for 127.0.0.1, ::1 and
// localhost, and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "notifytest"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
