package challenge

import (
	"errors"
	"strconv"
	"time"
)

// CollapseKey is the collapse key of every challenge message: a newer
// challenge replaces an undelivered older one on the device. It is one
// constant so it names no user or device.
const CollapseKey = "latchkey-challenge"

// Message is the FCM HTTP v1 "message" object for one challenge
// (security.md R33). It is data-only: there is no notification block, and
// the data is exactly {"cid": …}. Username, number, IP and the rest of the
// context are fetched by the app over its signed channel, never pushed.
type Message struct {
	Token   string  `json:"token"`
	Data    Data    `json:"data"`
	Android Android `json:"android"`
	APNS    APNS    `json:"apns"`
}

// Data is the message's data payload: the challenge id only.
type Data struct {
	CID string `json:"cid"`
}

// Android is the Android delivery options: high priority, a TTL equal to
// the challenge's remaining lifetime, the collapse key.
type Android struct {
	Priority    string `json:"priority"`
	TTL         string `json:"ttl"` // FCM duration, "119s"
	CollapseKey string `json:"collapse_key"`
}

// APNS is the iOS delivery options. A data-only (background) push on iOS
// must use priority 5; Apple refuses 10 for it, so iOS gets no "high
// priority" and the app falls back to polling when it is held back.
type APNS struct {
	Headers APNSHeaders `json:"headers"`
	Payload APNSPayload `json:"payload"`
}

// APNSHeaders are the APNs request headers FCM passes on.
type APNSHeaders struct {
	PushType   string `json:"apns-push-type"`   // "background"
	Priority   string `json:"apns-priority"`    // "5"
	Expiration string `json:"apns-expiration"`  // Unix seconds of the challenge's expiry
	CollapseID string `json:"apns-collapse-id"` // CollapseKey
}

// APNSPayload is the APNs payload: content-available only, no alert.
type APNSPayload struct {
	APS APS `json:"aps"`
}

// APS is the aps dictionary of a background push.
type APS struct {
	ContentAvailable int `json:"content-available"`
}

// BuildMessage returns the FCM message for c to the device with the given
// registration token, at now. The TTL is c's remaining lifetime in whole
// seconds, rounded down so the message is never delivered after expiry; a
// challenge with less than a second left is ErrExpired.
func BuildMessage(c *Challenge, token string, now time.Time) (Message, error) {
	if token == "" {
		return Message{}, errors.New("build push message: device has no push token")
	}
	ttl := c.Remaining(now).Truncate(time.Second)
	if ttl < time.Second {
		return Message{}, ErrExpired
	}
	return Message{
		Token:   token,
		Data:    Data{CID: c.CID},
		Android: Android{Priority: "high", TTL: strconv.Itoa(int(ttl/time.Second)) + "s", CollapseKey: CollapseKey},
		APNS: APNS{
			Headers: APNSHeaders{PushType: "background", Priority: "5", Expiration: strconv.FormatInt(c.ExpiresAt.Unix(), 10), CollapseID: CollapseKey},
			Payload: APNSPayload{APS: APS{ContentAvailable: 1}},
		},
	}, nil
}
