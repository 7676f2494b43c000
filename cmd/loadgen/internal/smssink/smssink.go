// Package smssink is the load driver's SMS gateway: an HTTP server on a
// loopback address receiving the control plane's SMS webhook
// (--sms-provider webhook), checking each request's signature with the
// shared key, and keeping the verification codes in a codebox.Box by
// number, labelled with the text (which names the tenant).
package smssink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/latchkey/latchkey/cmd/loadgen/internal/codebox"
	"github.com/latchkey/latchkey/portal/notify"
)

var codeRE = regexp.MustCompile(`^([0-9]{4,10}) is your `)

// Code returns the verification code at the start of an SMS text, or "".
func Code(text string) string {
	if m := codeRE.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// Sink is a running webhook receiver.
type Sink struct {
	srv  *http.Server
	addr string
	key  []byte
	box  *codebox.Box

	mu       sync.Mutex
	others   int
	rejected int
}

// Start listens on addr and serves POST /sms until Close.
func Start(addr string, key []byte, box *codebox.Box) (*Sink, error) {
	if len(key) == 0 {
		return nil, errors.New("smssink: a signing key is required")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smssink: listen %s: %w", addr, err)
	}
	s := &Sink{addr: ln.Addr().String(), key: key, box: box}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sms", s.receive)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the webhook URL to give the node (--sms-url).
func (s *Sink) URL() string { return "http://" + s.addr + "/sms" }

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// Counts returns how many texts without a code arrived and how many
// requests were rejected (bad signature or body).
func (s *Sink) Counts() (others, rejected int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.others, s.rejected
}

func (s *Sink) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var msg notify.WebhookBody
	if err == nil {
		err = notify.VerifyWebhookSignature(s.key, r.Header.Get(notify.SignatureHeader), body, time.Now(), 5*time.Minute)
	}
	if err == nil {
		err = json.Unmarshal(body, &msg)
	}
	if err != nil || msg.To == "" {
		s.mu.Lock()
		s.rejected++
		s.mu.Unlock()
		http.Error(w, "rejected", http.StatusBadRequest)
		return
	}
	if c := Code(msg.Text); c != "" {
		s.box.Put([]string{msg.To}, msg.Text, c)
	} else {
		s.mu.Lock()
		s.others++
		s.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}
