package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// Authenticator is a virtual WebAuthn authenticator of one tab: what the
// passkey tests register credentials with and sign in with.
type Authenticator struct {
	p  *Page
	id webauthn.AuthenticatorID
}

// VirtualAuthenticator enables the tab's WebAuthn domain (without browser UI)
// and adds a platform authenticator, as a phone or laptop has: CTAP2.1,
// internal transport, resident keys (passkeys), user presence always given,
// and user verification that succeeds when userVerified is true and fails
// when it is false. It lasts as long as the tab.
func (p *Page) VirtualAuthenticator(userVerified bool) *Authenticator {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		p.fail("VirtualAuthenticator: enable WebAuthn", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              userVerified,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		p.fail("VirtualAuthenticator: add the authenticator", err)
	}
	return &Authenticator{p: p, id: res.AuthenticatorID}
}

// ID is the authenticator's id in the DevTools protocol.
func (a *Authenticator) ID() webauthn.AuthenticatorID { return a.id }

// SetUserVerified makes user verification succeed (true) or fail from now on.
func (a *Authenticator) SetUserVerified(ok bool) {
	a.p.t.Helper()
	a.call(fmt.Sprintf("SetUserVerified(%t)", ok), func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: a.id, IsUserVerified: ok})
		return err
	})
}

// Credentials are the credentials the authenticator holds.
func (a *Authenticator) Credentials() []*webauthn.Credential {
	a.p.t.Helper()
	var creds []*webauthn.Credential
	a.call("Credentials()", func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.id})
		creds = res.Credentials
		return err
	})
	return creds
}

func (a *Authenticator) call(what string, f func(context.Context) error) {
	a.p.t.Helper()
	ctx, cancel := a.p.timed()
	defer cancel()
	if err := f(ctx); err != nil {
		a.p.fail("Authenticator."+what, err)
	}
}
