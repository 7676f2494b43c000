package browsertest_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing the real
// test, so a test can check that (and how) a harness method fails. Fatal*
// end the calling goroutine, as they do on a real T; use expectFailure to run
// code in one. Everything else (Name, TempDir, Setenv) is the real test's.
type recorder struct {
	testing.TB

	mu       sync.Mutex
	failed   bool
	messages []string
	logs     []string
	cleanups []func()
}

func newRecorder(t testing.TB) *recorder {
	r := &recorder{TB: t}
	t.Cleanup(r.runCleanups)
	return r
}

func (r *recorder) Helper() {}

func (r *recorder) record(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.messages = append(r.messages, msg)
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.record(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) { r.record(fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) FailNow()          { r.record("FailNow"); runtime.Goexit() }
func (r *recorder) Errorf(format string, args ...any) {
	r.record(fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any) { r.record(fmt.Sprint(args...)) }
func (r *recorder) Fail()             { r.record("Fail") }

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	r.TB.Logf("(recorded) "+format, args...)
}

func (r *recorder) Log(args ...any) { r.Logf("%s", fmt.Sprint(args...)) }

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// runCleanups runs the recorded cleanups, last first, as testing does.
func (r *recorder) runCleanups() {
	for {
		r.mu.Lock()
		if len(r.cleanups) == 0 {
			r.mu.Unlock()
			return
		}
		f := r.cleanups[len(r.cleanups)-1]
		r.cleanups = r.cleanups[:len(r.cleanups)-1]
		r.mu.Unlock()
		f()
	}
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.messages, "\n")
}

// expectFailure runs f with a recorder in its own goroutine and returns the
// failure message; the real test fails if f does not fail.
func expectFailure(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	r := newRecorder(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	if !r.Failed() {
		t.Fatal("expected a failure, got none")
	}
	return r.text()
}

func mustContain(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}
