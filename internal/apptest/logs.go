package apptest

import (
	"bytes"
	"sync"
)

// LockedWriter collects log lines from concurrent handlers.
type LockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is every line written so far.
func (l *LockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
