package fcm_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/push/fcm"
)

// BenchmarkB4SendVsRawHTTP2 is performance.md B4's send path on this machine:
// a challenge message through fcm.Sender (the Firebase Admin SDK) against a
// raw HTTP/2 POST of the same JSON, both to one local fake FCM server over
// TLS, interleaved one for one in the same run. Reported: p50 of each (µs) and
// the ratio of the p50s.
//
//	go test ./push/fcm -run x -bench B4 -benchtime 2000x
func BenchmarkB4SendVsRawHTTP2(b *testing.B) {
	srv := httptest.NewUnstartedServer(&fakeFCM{})
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := srv.Client()
	ctx := context.Background()
	// The SDK with the test server's client (its CA, HTTP/2) and endpoint.
	s, err := fcm.New(ctx, fcm.Config{ProjectID: "latchkey-test", Endpoint: srv.URL + "/v1", HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	m, _ := message(b)
	body := []byte(`{"message":{"token":"device-token-1","data":{"cid":"` + m.Data.CID + `"},"android":{"priority":"high","ttl":"119s","collapse_key":"latchkey-challenge"}}}`)
	url := srv.URL + "/v1/projects/latchkey-test/messages:send"
	raw := func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	sdk := func() error { return s.Send(ctx, m) }
	for _, op := range []func() error{raw, sdk} {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	var rawT, sdkT []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := raw(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := sdk(); err != nil {
			b.Fatal(err)
		}
		rawT, sdkT = append(rawT, t1.Sub(t0)), append(sdkT, time.Since(t1))
	}
	b.StopTimer()
	p50 := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	pr, ps := p50(rawT), p50(sdkT)
	b.ReportMetric(float64(pr.Microseconds()), "raw-p50-µs")
	b.ReportMetric(float64(ps.Microseconds()), "sdk-p50-µs")
	b.ReportMetric(float64(ps)/float64(pr), "ratio")
}
