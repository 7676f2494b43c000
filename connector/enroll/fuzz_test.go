package enroll_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/latchkey/latchkey/connector/enroll"
)

// FuzzDecodeRequest: no input makes the enrollment decoder panic; whatever
// it accepts passes Validate and survives a JSON round trip unchanged; every
// refusal is a *BadRequestError (a 400 with a message, never a 500).
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"token":"lkj_x","name":"dc01","sign_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","seal_key":"AA==","agent_version":"1"}`))
	f.Add([]byte(`{"token":1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"domains":["a","b"],"name":"\u0000"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`{"sign_key":"!!"}`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := enroll.DecodeRequest(body)
		if err != nil {
			var bad *enroll.BadRequestError
			if !errors.As(err, &bad) || bad.Message == "" {
				t.Fatalf("refusal %v is not a BadRequestError with a message", err)
			}
			return
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("accepted a request that does not validate: %v", err)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := enroll.DecodeRequest(again)
		if err != nil || !reflect.DeepEqual(back, req) {
			t.Fatalf("round trip changed the request: %+v → %+v (%v)", req, back, err)
		}
	})
}
