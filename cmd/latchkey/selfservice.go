package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/mobile-api"
	"github.com/latchkey/latchkey/portal/captcha"
	"github.com/latchkey/latchkey/portal/factor/otp"
	"github.com/latchkey/latchkey/portal/factor/passkey"
	"github.com/latchkey/latchkey/portal/factor/questions"
	"github.com/latchkey/latchkey/portal/factor/totp"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/portal/pages"
	"github.com/latchkey/latchkey/portal/phone"
	"github.com/latchkey/latchkey/portal/session"
	"github.com/latchkey/latchkey/portal/settings"
	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/push/fcm"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// secretKeyName is the generated secret key's file under --data-dir (SQLite).
const secretKeyName = "secret.key"

// selfServiceConfig configures the self-service flows and notifications.
type selfServiceConfig struct {
	SecretKeyFile string
	SMTP          smtpConfig
	SMS           smsConfig
	// MinDelay is the response floor of identify and send-code (R2).
	MinDelay time.Duration
	// TenantStartsPerMinute: above it every flow of a tenant needs a CAPTCHA.
	TenantStartsPerMinute int
	FCM                   fcmConfig

	secretKey []byte // loaded by loadSecretKey
	// mailbox, when set (the demo), receives every message instead of SMTP/SMS.
	mailbox *devMailbox
}

type smtpConfig struct {
	Host, Username, PasswordFile, From, TLS, CAFile string
	Port                                            int
}

type fcmConfig struct{ Project, CredentialsFile, Endpoint string }

type smsConfig struct {
	Provider, URL, AccountSID, TokenFile, From, CAFile string
}

func (c *selfServiceConfig) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", "", "file with the 32-byte (64 hex digits) key that protects codes, flows and the outbox; required with PostgreSQL (the same on every node), generated under --data-dir with SQLite")
	fs.DurationVar(&c.MinDelay, "flow-min-delay", flow.DefaultMinDelay, "response floor of the identify, send-code and verification steps, so every account answers in the same time")
	fs.IntVar(&c.TenantStartsPerMinute, "flow-tenant-starts-per-minute", 600, "flows one tenant may start per minute before every new one needs a CAPTCHA (raise it for large tenants)")
	fs.StringVar(&c.SMTP.Host, "smtp-host", "", "SMTP server for emails (empty: emails wait in the outbox)")
	fs.IntVar(&c.SMTP.Port, "smtp-port", 587, "SMTP port")
	fs.StringVar(&c.SMTP.Username, "smtp-username", "", "SMTP AUTH user name")
	fs.StringVar(&c.SMTP.PasswordFile, "smtp-password-file", "", "file holding the SMTP AUTH password")
	fs.StringVar(&c.SMTP.From, "smtp-from", "", "From header of emails, e.g. \"IT Self-Service <noreply@example.com>\"")
	fs.StringVar(&c.SMTP.TLS, "smtp-tls", notify.TLSStartTLS, "SMTP TLS: starttls (required), opportunistic, tls (implicit, port 465) or none")
	fs.StringVar(&c.SMTP.CAFile, "smtp-ca-file", "", "PEM CA bundle that verifies the SMTP server (default: the system's)")
	fs.StringVar(&c.SMS.Provider, "sms-provider", "", "platform SMS provider: twilio or webhook (empty: SMS wait in the outbox unless a tenant has its own)")
	fs.StringVar(&c.SMS.URL, "sms-url", "", "Twilio-compatible API base URL, or the webhook URL")
	fs.StringVar(&c.SMS.AccountSID, "sms-account-sid", "", "Twilio account SID")
	fs.StringVar(&c.SMS.TokenFile, "sms-token-file", "", "file holding the Twilio auth token or the webhook signing key")
	fs.StringVar(&c.SMS.From, "sms-from", "", "sender number or name of SMS")
	fs.StringVar(&c.FCM.Project, "fcm-project", "", "Firebase project that sends push approvals (empty: the app polls)")
	fs.StringVar(&c.FCM.CredentialsFile, "fcm-credentials-file", "", "Firebase service-account JSON key (default: Application Default Credentials)")
	fs.StringVar(&c.FCM.Endpoint, "fcm-endpoint", "", "replaces https://fcm.googleapis.com/v1 (a test FCM server; turns authentication off)")
	fs.StringVar(&c.SMS.CAFile, "sms-ca-file", "", "PEM CA bundle that verifies the SMS provider's or webhook's HTTPS server (default: the system's)")
}

// loadSecretKey reads --secret-key-file, or generates one under the data
// directory with SQLite.
func loadSecretKey(c selfServiceConfig, sc storageConfig, log *slog.Logger) ([]byte, error) {
	path := c.SecretKeyFile
	if path == "" {
		if sc.DatabaseURL != "" {
			return nil, fmt.Errorf("--secret-key-file (%s) is required with PostgreSQL: every node needs the same key; create one with `openssl rand -hex 32 > secret.key`", envName("secret-key-file"))
		}
		path = filepath.Join(sc.DataDir, secretKeyName)
		if err := generateSecretFile(path); err != nil {
			return nil, fmt.Errorf("secret key %s: %w", path, err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--secret-key-file (%s): %w", envName("secret-key-file"), err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("--secret-key-file (%s) %s: want at least 64 hex digits (32 bytes)", envName("secret-key-file"), path)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the secret key file is readable by others; chmod 600 it", slog.String("path", path))
	}
	return key, nil
}

// existingSecretKey reads the servers' secret key for a command that seals
// something they will open: it never generates one (a new key would seal
// what no server can read).
func existingSecretKey(c selfServiceConfig, sc storageConfig) ([]byte, error) {
	path := c.SecretKeyFile
	if path == "" {
		if sc.DatabaseURL != "" {
			return nil, fmt.Errorf("--secret-key-file (%s) is required with PostgreSQL: the servers' key", envName("secret-key-file"))
		}
		path = filepath.Join(sc.DataDir, secretKeyName)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no secret key at %s (%w): give the servers' --secret-key-file, or start the server once so that it makes one", path, err)
	}
	return loadSecretKey(selfServiceConfig{SecretKeyFile: path}, sc, slog.New(slog.DiscardHandler))
}

func generateSecretFile(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	_, err = fmt.Fprintln(f, hex.EncodeToString(b))
	return errors.Join(err, f.Close())
}

// subkey derives a key for one purpose from the secret key, so that no two
// uses share a key.
func subkey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("latchkey/" + purpose))
	return m.Sum(nil)
}

// selfService is the wired self-service part of a node.
type selfService struct {
	engine  *flow.Engine
	account *pages.Account
	worker  *notify.Worker
	outbox  *notify.Outbox
	mobile  *mobileapi.API
	captcha func(string) ([]byte, error)
}

// newSelfService wires the flow engine, sessions, settings and the
// notification outbox of a node.
func newSelfService(cfg serverConfig, st store.Store, d flow.Dispatcher, links tenants.LinkBuilder, log *slog.Logger) (*selfService, error) {
	c := cfg.SelfService
	if len(c.secretKey) < 32 {
		return nil, errors.New("no secret key loaded (see --secret-key-file)")
	}
	sealer, err := notify.NewSealer(subkey(c.secretKey, "outbox"), nil)
	if err != nil {
		return nil, fmt.Errorf("outbox sealer: %w", err)
	}
	w := &notify.Worker{Store: st, Sealer: sealer, Logger: log.With(slog.String("component", "notify"))}
	if c.mailbox != nil {
		w.Email, w.SMS = c.mailbox, c.mailbox
	} else {
		if w.Email, err = smtpSender(c.SMTP); err != nil {
			return nil, err
		}
		def, err := smsSender(c.SMS)
		if err != nil {
			return nil, err
		}
		w.SMS = &notify.Router{Tenant: func(ctx context.Context, id tenants.ID) (tenants.Tenant, error) { return st.Tenant(id).Get(ctx) },
			Sealer: sealer, Default: def}
	}
	outbox := &notify.Outbox{Store: st, Sealer: sealer, Wake: w.Wake, Logger: log}
	codes := otp.Codes{Key: subkey(c.secretKey, "codes")}
	hasher := questions.NewHasher(questions.DefaultParams, 0)
	phoneCheck := func(raw string) (string, string, error) {
		n, err := phone.Parse(raw, "")
		return n.E164, n.Region, err
	}
	msgr := &messenger{outbox: outbox}
	minDelay := c.MinDelay
	if minDelay == 0 {
		minDelay = -1
	}
	seeds, err := totp.NewSealer(subkey(c.secretKey, "totp"), nil)
	if err != nil {
		return nil, fmt.Errorf("totp sealer: %w", err)
	}
	totps := &totp.Service{Sealer: seeds, Log: log}
	passkeys := &passkey.Service{}

	// Push approval and the mobile API.
	scope := approval.Scoped(st.Tenant)
	var sender challenge.Sender // nil: devices poll
	if c.FCM.Project != "" {
		s, err := fcm.New(context.Background(), fcm.Config{ProjectID: c.FCM.Project, CredentialsFile: c.FCM.CredentialsFile, Endpoint: c.FCM.Endpoint})
		if err != nil {
			return nil, fmt.Errorf("--fcm-project: %w", err)
		}
		sender = s
	}
	var engine *flow.Engine
	pushes, err := approval.New(approval.Config{Store: scope, Sender: sender, Logger: log,
		OnReport: func(ctx context.Context, t *tenants.Tenant, c *challenge.Challenge) {
			engine.Reported(ctx, t, c.UserID, flow.Suspect{Action: c.Context.Action, IP: c.Context.IP,
				Browser: c.Context.Browser, Time: c.Context.Time})
		}})
	if err != nil {
		return nil, fmt.Errorf("push approvals: %w", err)
	}
	devices, err := approval.NewEnrollments(scope, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("device enrollments: %w", err)
	}
	mobile, err := mobileapi.New(mobileapi.Config{Store: scope, Approvals: pushes, Enrollments: devices, Logger: log,
		OnDeviceChange: func(ctx context.Context, t *tenants.Tenant, ev mobileapi.DeviceEvent) {
			engine.NotifyUser(ctx, t, ev.Device.UserID, "factor_changed", nil, flow.Client{IP: ev.IP, UserAgent: ev.UserAgent})
		}})
	if err != nil {
		return nil, fmt.Errorf("mobile API: %w", err)
	}
	engine, err = flow.New(flow.Config{MinDelay: minDelay, TenantStartsPerMinute: c.TenantStartsPerMinute}, flow.Deps{Store: st, Dispatcher: d, Messenger: msgr, Codes: codes, Answers: hasher, TOTP: totps, Pusher: pushes, Passkeys: passkeys,
		Phone: phoneCheck, Key: subkey(c.secretKey, "flow"), Links: links, Logger: log})
	if err != nil {
		return nil, err
	}
	mobile.SetFlows(engine) // self-service from the app (docs/mobile-api.md section 5)
	acct := &pages.Account{Store: st, Sessions: &session.Manager{}, Key: subkey(c.secretKey, "csrf"),
		Settings: &settings.Service{Store: st, Codes: codes, Messenger: msgr, Phone: phoneCheck, Hasher: hasher, ValidateAnswers: questions.ValidateSetup, TOTP: totps, Devices: devices, Passkeys: passkeys},
		QR:       totp.QRSVG, Links: links}
	return &selfService{engine: engine, account: acct, worker: w, outbox: outbox, mobile: mobile,
		captcha: func(digits string) ([]byte, error) { return captcha.PNG(digits, 240, 80) }}, nil
}

func smtpSender(c smtpConfig) (notify.EmailSender, error) {
	if c.Host == "" {
		return nil, nil
	}
	s := &notify.SMTPSender{Host: c.Host, Port: c.Port, Username: c.Username, From: c.From, TLS: c.TLS}
	if c.From == "" {
		return nil, fmt.Errorf("--smtp-from (%s) is required with --smtp-host", envName("smtp-from"))
	}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-password-file: %w", err)
		}
		s.Password = strings.TrimRight(string(b), "\r\n")
	}
	if c.CAFile != "" {
		var err error
		if s.RootCAs, err = loadCAFile("smtp-ca-file", c.CAFile); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// loadCAFile reads the PEM CA bundle of --flag.
func loadCAFile(flag, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--%s %s: no PEM certificates", flag, path)
	}
	return pool, nil
}

func smsSender(c smsConfig) (notify.SMSSender, error) {
	secret := ""
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("--sms-token-file: %w", err)
		}
		secret = strings.TrimRight(string(b), "\r\n")
	}
	var client *http.Client // nil: http.DefaultClient, the system's CAs
	if c.CAFile != "" {
		pool, err := loadCAFile("sms-ca-file", c.CAFile)
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		client = &http.Client{Transport: tr}
	}
	switch c.Provider {
	case "":
		return nil, nil
	case "twilio":
		return &notify.TwilioSender{BaseURL: c.URL, AccountSID: c.AccountSID, AuthToken: secret, From: c.From, HTTPClient: client}, nil
	case "webhook":
		if c.URL == "" {
			return nil, errors.New("--sms-url is required with --sms-provider webhook")
		}
		return &notify.WebhookSender{URL: c.URL, Key: []byte(secret), HTTPClient: client}, nil
	}
	return nil, fmt.Errorf("--sms-provider %q: want twilio or webhook", c.Provider)
}

// messenger renders flow messages with the tenant's templates and queues
// them in the outbox.
type messenger struct{ outbox *notify.Outbox }

func (m *messenger) Send(ctx context.Context, t *tenants.Tenant, msg flow.Message) error {
	d := notify.Data{Code: msg.Code, ExpiresIn: int(msg.ExpiresIn / time.Minute), Action: msg.Action, Username: msg.Username,
		DisplayName: msg.DisplayName, IP: msg.IP, UserAgent: msg.UserAgent, Browser: msg.Browser, ReportURL: msg.ReportURL, Time: msg.Time}
	// Notify renders (SMS get their short forms), logs a broken tenant
	// template and falls back to the default, then enqueues.
	_, err := m.outbox.Notify(ctx, t, msg.Channel, msg.Kind, msg.Lang, msg.To, d)
	return err
}
