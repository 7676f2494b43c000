package mobileclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/push/challenge"
)

// MaxBody is the largest request or answer body the API has (16 KiB).
const MaxBody = 16 << 10

// Client calls the signed endpoints as one enrolled device.
type Client struct {
	// BaseURL is scheme://host[:port] of the tenant.
	BaseURL string
	// HTTP sends the requests (see NewHTTPClient).
	HTTP *http.Client
	// KeyID is the device's key id, which signed answers name.
	KeyID string
	// Signer signs every request.
	Signer Signer
}

// Enroll posts the enrollment request to the link's host and returns the
// server's answer. It checks that the server kept the key id.
func Enroll(ctx context.Context, hc *http.Client, baseURL string, req EnrollRequest) (Enrolled, error) {
	var out Enrolled
	if err := call(ctx, hc, baseURL, nil, http.MethodPost, PathEnroll, req, http.StatusCreated, &out); err != nil {
		return Enrolled{}, fmt.Errorf("enroll: %w", err)
	}
	switch {
	case out.DeviceID == "":
		return Enrolled{}, errors.New("enroll: the server's answer has no device_id")
	case out.KeyID != req.KeyID:
		return Enrolled{}, fmt.Errorf("enroll: the server answered key id %q for the key %q", out.KeyID, req.KeyID)
	}
	return out, nil
}

// Challenges returns the device's pending challenges, newest first.
func (c *Client) Challenges(ctx context.Context) ([]Challenge, error) {
	var out ChallengeList
	if err := c.do(ctx, http.MethodGet, PathChallenges, nil, http.StatusOK, &out); err != nil {
		return nil, fmt.Errorf("list challenges: %w", err)
	}
	return out.Challenges, nil
}

// Challenge fetches one challenge's details.
func (c *Client) Challenge(ctx context.Context, cid string) (Challenge, error) {
	if !ValidCID(cid) {
		return Challenge{}, fmt.Errorf("challenge %q: not a challenge id (32 lower-case hex digits)", cid)
	}
	var out Challenge
	if err := c.do(ctx, http.MethodGet, PathChallenges+"/"+cid, nil, http.StatusOK, &out); err != nil {
		return Challenge{}, fmt.Errorf("challenge %s: %w", cid, err)
	}
	if out.CID != cid {
		return Challenge{}, fmt.Errorf("challenge %s: the server answered with challenge %q", cid, out.CID)
	}
	return out, nil
}

// Answer signs and posts the answer to a challenge: approve with the number
// the user typed (0 when the challenge has no number matching), deny or
// report. The signed ts is the Signer's clock.
func (c *Client) Answer(ctx context.Context, cid string, d challenge.Decision, number int) (AnswerResult, error) {
	if !ValidCID(cid) {
		return AnswerResult{}, fmt.Errorf("answer %q: not a challenge id", cid)
	}
	if d != challenge.DecisionApprove {
		number = 0
	}
	a, err := challenge.Sign(c.Signer.Key, challenge.Response{
		CID: cid, Decision: d, Number: number, KeyID: c.KeyID, TS: c.Signer.Now(),
	})
	if err != nil {
		return AnswerResult{}, fmt.Errorf("answer %s: %w", cid, err)
	}
	var out AnswerResult
	if err := c.do(ctx, http.MethodPost, PathChallenges+"/"+cid+"/answer", json.RawMessage(a.Encode()), http.StatusOK, &out); err != nil {
		return AnswerResult{}, fmt.Errorf("answer %s: %w", cid, err)
	}
	return out, nil
}

// Device returns the server's record of this device.
func (c *Client) Device(ctx context.Context) (Device, error) {
	var out Device
	if err := c.do(ctx, http.MethodGet, PathDevice, nil, http.StatusOK, &out); err != nil {
		return Device{}, fmt.Errorf("device: %w", err)
	}
	return out, nil
}

// Rename changes the device's name and returns the device.
func (c *Client) Rename(ctx context.Context, name string) (Device, error) {
	var out Device
	if err := c.do(ctx, http.MethodPatch, PathDevice, map[string]string{"name": name}, http.StatusOK, &out); err != nil {
		return Device{}, fmt.Errorf("rename the device: %w", err)
	}
	return out, nil
}

// SetPushToken sets the FCM registration token ("" to poll only).
func (c *Client) SetPushToken(ctx context.Context, token string) error {
	if err := c.do(ctx, http.MethodPut, PathPushToken, map[string]string{"push_token": token}, http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("set the push token: %w", err)
	}
	return nil
}

// Remove removes the device from the tenant: its key stops working.
func (c *Client) Remove(ctx context.Context) error {
	if err := c.do(ctx, http.MethodDelete, PathDevice, nil, http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("remove the device: %w", err)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, path string, in any, want int, out any) error {
	return call(ctx, c.HTTP, c.BaseURL, &c.Signer, method, path, in, want, out)
}

// call sends one request (signed when s is not nil) and decodes the answer
// into out when its status is want; any other status is an *APIError.
func call(ctx context.Context, hc *http.Client, baseURL string, s *Signer, method, path string, in any, want int, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode the request: %w", err)
		}
	}
	u, err := url.Parse(baseURL + path)
	if err != nil {
		return fmt.Errorf("request URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if s != nil {
		if err := s.SignRequest(req, body); err != nil {
			return err
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if len(b) > MaxBody {
		return fmt.Errorf("the answer is larger than %d bytes", MaxBody)
	}
	if resp.StatusCode != want {
		return apiError(resp, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode the answer: %w", err)
	}
	return nil
}

func apiError(resp *http.Response, body []byte) error {
	var eb ErrorBody
	if json.Unmarshal(body, &eb) != nil {
		eb = ErrorBody{}
	}
	e := &APIError{Status: resp.StatusCode, Code: eb.Error, ServerMessage: eb.Message}
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
		e.RetryAfter = time.Duration(n) * time.Second
	}
	return e
}

// ValidCID reports whether s looks like a challenge id: 32 lower-case hex
// digits.
func ValidCID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
