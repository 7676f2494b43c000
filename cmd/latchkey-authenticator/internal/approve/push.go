package approve

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
)

// maxPushBody bounds a pushed message.
const maxPushBody = 4 << 10

// PushHandler receives pushed messages as FCM would deliver them to the app,
// for the reference client: an HTTP POST (any path) whose body is the data
// message, {"cid":"<32 hex>"}. It answers 202 and hands the cid to out, 400
// for a body without a valid cid, 405 for another method, 503 when out is
// full. Members other than cid are ignored. Like a real push, the message is
// only a hint: the waiter fetches the challenge over its signed channel, so a
// forged message can at most make it ask the server about a cid.
func PushHandler(out chan<- string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST a data message {\"cid\": \"…\"}", http.StatusMethodNotAllowed)
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxPushBody+1))
		if err != nil || len(b) > maxPushBody {
			http.Error(w, "body too large or unreadable", http.StatusBadRequest)
			return
		}
		var msg struct {
			CID string `json:"cid"`
		}
		if json.Unmarshal(b, &msg) != nil || !mobileclient.ValidCID(msg.CID) {
			http.Error(w, "want {\"cid\": \"<32 lower-case hex digits>\"}", http.StatusBadRequest)
			return
		}
		select {
		case out <- msg.CID:
			w.WriteHeader(http.StatusAccepted)
		default:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	})
}
