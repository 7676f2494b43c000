package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

// tabState is what a tab's events tell: whether its main frame is navigating,
// the status of its last document, and the errors on its console. The tab's
// event loop updates it (in the order Chromium sent the events, before the
// reply to any later command), so after an action returns the state already
// holds that action's events.
type tabState struct {
	frame cdp.FrameID // the main frame

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	pending  bool          // a navigation was requested and has not stopped loading
	loading  bool
	status   int
	url      string   // of the main frame's document
	problems []string // each prefixed with the url it happened on
}

func newTabState(frame cdp.FrameID) *tabState {
	return &tabState{frame: frame, changed: make(chan struct{})}
}

// event is the chromedp listener: it runs in the tab's event loop, so it
// only records.
func (s *tabState) event(ev any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := ev.(type) {
	case *page.EventFrameRequestedNavigation: // the renderer asked (link, form, location=…)
		if e.FrameID != s.frame || e.Disposition != page.ClientNavigationDispositionCurrentTab {
			return
		}
		s.pending = true
	case *page.EventFrameStartedNavigating:
		if e.FrameID != s.frame || sameDocument(e.NavigationType) {
			return
		}
		s.pending, s.status = true, 0
	case *page.EventFrameStartedLoading:
		if e.FrameID != s.frame {
			return
		}
		s.loading = true
	case *page.EventFrameStoppedLoading:
		if e.FrameID != s.frame {
			return
		}
		s.loading, s.pending = false, false
	case *page.EventNavigatedWithinDocument: // #fragment, history.pushState
		if e.FrameID != s.frame {
			return
		}
		s.pending = false
	case *page.EventFrameNavigated:
		if e.Frame == nil || e.Frame.ID != s.frame {
			return
		}
		s.url = e.Frame.URL
	case *network.EventResponseReceived:
		if e.Type != network.ResourceTypeDocument || e.FrameID != s.frame || e.Response == nil {
			return
		}
		s.status = int(e.Response.Status)
	case *runtime.EventExceptionThrown:
		s.problem("exception: " + exceptionText(e.ExceptionDetails))
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		s.problem("console." + string(e.Type) + ": " + argsText(e.Args))
	case *log.EventEntryAdded: // failed loads, CSP and other browser errors
		if e.Entry == nil || e.Entry.Level != log.EntryLevelError {
			return
		}
		msg := string(e.Entry.Source) + ": " + e.Entry.Text
		if e.Entry.URL != "" && !strings.Contains(msg, e.Entry.URL) {
			msg += " (" + e.Entry.URL + ")"
		}
		s.problem(msg)
	default:
		return
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *tabState) problem(msg string) {
	where := s.url
	if where == "" {
		where = "(no page)"
	}
	s.problems = append(s.problems, where+": "+msg)
}

func sameDocument(t page.FrameStartedNavigatingNavigationType) bool {
	return t == page.FrameStartedNavigatingNavigationTypeSameDocument ||
		t == page.FrameStartedNavigatingNavigationTypeHistorySameDocument
}

// settled waits until no navigation of the main frame is requested or
// loading.
func (s *tabState) settled(ctx context.Context) error {
	for {
		s.mu.Lock()
		busy, ch := s.pending || s.loading, s.changed
		s.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *tabState) lastStatus() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *tabState) consoleProblems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "exception"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		desc, _, _ := strings.Cut(d.Exception.Description, "\n") // the message, not the stack
		text = strings.TrimSuffix(text, ".") + " " + desc
	}
	if d.URL != "" {
		text += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	}
	return text
}

// argsText renders console arguments roughly as the DevTools console does.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a == nil:
			continue
		case len(a.Value) > 0:
			if err := json.Unmarshal(a.Value, &s); err != nil {
				s = string(a.Value) // a number, boolean or JSON object
			}
		case a.Description != "":
			s = a.Description
		case a.UnserializableValue != "":
			s = string(a.UnserializableValue)
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
