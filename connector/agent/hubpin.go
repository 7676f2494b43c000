package agent

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// The connector pins the CA of the hub it enrolled with (R53): besides the
// usual certificate checks, the chain the hub presents must end in the root
// whose public key was seen at enrollment (Identity.HubCAPin, hex SHA-256 of
// the root's SubjectPublicKeyInfo). A certificate for the hub's name from any
// other CA — a mis-issued or coerced one — is refused. Moving the hub to
// another CA means enrolling the connectors again.

// ErrHubCAPin is a hub certificate that does not chain to the pinned CA.
var ErrHubCAPin = errors.New("the hub's certificate does not chain to the CA pinned at enrollment")

// CAPin returns the pin of a verified chain's root.
func CAPin(chain []*x509.Certificate) string {
	if len(chain) == 0 {
		return ""
	}
	sum := sha256.Sum256(chain[len(chain)-1].RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// pinnedTLS returns base (or a default config) that also requires pin.
func pinnedTLS(base *tls.Config, pin string) *tls.Config {
	var c *tls.Config
	if base != nil {
		c = base.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	pin = strings.ToLower(pin)
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		for _, chain := range cs.VerifiedChains {
			if CAPin(chain) == pin {
				return nil
			}
		}
		return fmt.Errorf("%w (pin %s…)", ErrHubCAPin, pin[:min(12, len(pin))])
	}
	return c
}
