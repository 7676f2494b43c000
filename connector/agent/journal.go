package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/latchkey/latchkey/connector/protocol"
)

// journal remembers on disk every command id the agent has accepted, with the
// result it signed, so that a command runs at most once — across reconnects and
// restarts — and a repeated delivery gets the original answer.
//
// The file is append-only JSON lines; an id is written (and fsynced) BEFORE the
// directory is touched ("started"), and again with its result when done. An id
// that was started but has no result (the process died mid-operation) is never
// run again; its outcome is reported as unknown.
type journal struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	entries map[string]*journalEntry
	running map[string]chan struct{} // ids executing now; closed when their result is stored
	keep    time.Duration
}

type journalEntry struct {
	ID      string                 `json:"id"`
	Expires time.Time              `json:"exp"`
	Result  *protocol.SignedResult `json:"result,omitempty"`
}

// errAlreadySeen is returned by begin for an id that is known.
var errAlreadySeen = errors.New("command id already seen")

func openJournal(path string, keep time.Duration, now time.Time) (*journal, error) {
	j := &journal{path: path, entries: map[string]*journalEntry{}, running: map[string]chan struct{}{}, keep: keep}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), protocol.MaxFrameBytes*2)
		for sc.Scan() {
			var e journalEntry
			if json.Unmarshal(sc.Bytes(), &e) != nil || e.ID == "" {
				continue // a torn last line after a crash
			}
			if prev, ok := j.entries[e.ID]; ok && e.Result == nil {
				e.Result = prev.Result
			}
			j.entries[e.ID] = &e
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read journal %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if err := j.compact(now); err != nil {
		return nil, err
	}
	return j, nil
}

// compact rewrites the file without entries older than keep past their expiry.
func (j *journal) compact(now time.Time) error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("compact journal: %w", err)
	}
	w := bufio.NewWriter(f)
	for id, e := range j.entries {
		if now.Sub(e.Expires) > j.keep {
			delete(j.entries, id)
			continue
		}
		b, _ := json.Marshal(e)
		w.Write(append(b, '\n'))
	}
	if err := errors.Join(w.Flush(), f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("compact journal: %w", err)
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return fmt.Errorf("compact journal: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, err = os.OpenFile(j.path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	return nil
}

// append writes e; with sync it is on disk when append returns. The start of
// a command is synced before the command runs — that is what makes it run at
// most once, even across a power cut. Its result is not: losing it to a power
// cut only turns a later redelivery's answer into "replayed, outcome unknown",
// never into a second run, and it saves a disk flush per command.
func (j *journal) append(e journalEntry, sync bool) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if sync {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("sync journal: %w", err)
		}
	}
	return nil
}

// begin records id as started. For a known id it returns errAlreadySeen and the
// stored result (nil when the first run never finished).
func (j *journal) begin(id string, exp time.Time) (*protocol.SignedResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if e, ok := j.entries[id]; ok {
		return e.Result, errAlreadySeen
	}
	e := &journalEntry{ID: id, Expires: exp}
	if err := j.append(*e, true); err != nil {
		return nil, err
	}
	j.entries[id] = e
	j.running[id] = make(chan struct{})
	return nil, nil
}

// finish stores the signed result of id.
func (j *journal) finish(id string, r protocol.SignedResult) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[id]
	if !ok {
		return fmt.Errorf("journal: finish of unknown command %s", id)
	}
	e.Result = &r
	err := j.append(*e, false)
	if ch, ok := j.running[id]; ok {
		close(ch)
		delete(j.running, id)
	}
	return err
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	return j.f.Close()
}

// lookup returns whether id is known and its result. While the first delivery
// of id is still executing it waits for it (or ctx). The result is nil only
// when the first run never finished (the process died mid-operation).
func (j *journal) lookup(ctx context.Context, id string) (*protocol.SignedResult, bool) {
	j.mu.Lock()
	e, ok := j.entries[id]
	running := j.running[id]
	j.mu.Unlock()
	if !ok {
		return nil, false
	}
	if running != nil {
		select {
		case <-running:
		case <-ctx.Done():
			return nil, true
		}
		j.mu.Lock()
		defer j.mu.Unlock()
	}
	return e.Result, true
}
