package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/tenants"
)

// SMS provider kinds (tenants.SMSProvider.Kind).
const (
	ProviderTwilio  = "twilio"
	ProviderWebhook = "webhook"
)

// ErrNoSMSProvider is returned by Router for a tenant without its own
// provider when there is no platform default: the message is retried, so it
// goes out once a provider is configured (or dies after the last attempt).
var ErrNoSMSProvider = errors.New("notify: no SMS provider")

// Router is an SMSSender that sends each tenant's SMS through the tenant's
// own provider (tenants.Tenant.SelfService.SMSProvider, its Secret opened
// with Sealer.OpenSecret) when it has one, else through Default.
type Router struct {
	// Tenant looks a tenant up (e.g. store.Tenant(id).Get).
	Tenant func(ctx context.Context, id tenants.ID) (tenants.Tenant, error)
	Sealer *Sealer
	// Default is the platform's sender (nil: none).
	Default SMSSender
	// HTTPClient is used for tenants' providers. Their URLs come from tenant
	// admins: give it a transport that refuses private and loopback
	// addresses in production.
	HTTPClient *http.Client
}

// SendSMS picks the sender and sends.
func (r *Router) SendSMS(ctx context.Context, tenant tenants.ID, to, text string) error {
	t, err := r.Tenant(ctx, tenant)
	if err != nil {
		return fmt.Errorf("notify: sms router: tenant %s: %w", tenant, err)
	}
	p := t.SelfService.SMSProvider
	if p == nil {
		if r.Default == nil {
			return ErrNoSMSProvider
		}
		return r.Default.SendSMS(ctx, tenant, to, text)
	}
	s, err := r.tenantSender(tenant, *p)
	if err != nil {
		// A broken configuration will not mend itself within the retries.
		return Permanent(fmt.Errorf("%w (tenant %s)", err, tenant))
	}
	return s.SendSMS(ctx, tenant, to, text)
}

func (r *Router) tenantSender(tenant tenants.ID, p tenants.SMSProvider) (SMSSender, error) {
	if err := ValidateSMSProvider(p); err != nil {
		return nil, err
	}
	secret, err := r.Sealer.OpenSecret(tenant, p.Secret)
	if err != nil {
		return nil, err
	}
	if p.Kind == ProviderTwilio {
		return &TwilioSender{BaseURL: p.URL, AccountSID: p.AccountSID, AuthToken: string(secret), From: p.From,
			HTTPClient: r.HTTPClient}, nil
	}
	return &WebhookSender{URL: p.URL, Key: secret, HTTPClient: r.HTTPClient}, nil
}

// ValidateSMSProvider checks a tenant's provider settings (for the admin
// API, before saving): a known kind, an https URL (required for a webhook,
// optional for Twilio), Twilio's account SID and From, and a sealed secret.
func ValidateSMSProvider(p tenants.SMSProvider) error {
	switch p.Kind {
	case ProviderTwilio:
		if p.AccountSID == "" || p.From == "" {
			return errors.New("notify: sms provider: twilio needs an account SID and a from number")
		}
		if p.URL == "" {
			break
		}
		fallthrough
	case ProviderWebhook:
		u, err := url.Parse(p.URL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return fmt.Errorf("notify: sms provider: URL %q must be https://host/…", p.URL)
		}
	default:
		return fmt.Errorf("notify: sms provider: unknown kind %q", p.Kind)
	}
	if len(p.Secret) == 0 {
		return errors.New("notify: sms provider: no secret")
	}
	return nil
}
