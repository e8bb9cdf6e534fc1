// Package logbuf is an asynchronous buffered writer for logs: a Write
// copies the line into memory and returns, and one goroutine writes what
// gathered to the underlying writer in large chunks. Nothing is dropped: a
// writer that falls further behind than the buffer's bound makes Write wait
// for it, and Close writes everything before it returns.
package logbuf

import (
	"errors"
	"io"
	"sync"
)

// Writer is an asynchronous buffered io.Writer. It is safe for concurrent
// use.
type Writer struct {
	out      io.Writer
	maxBytes int

	mu      sync.Mutex
	pending []byte    // written, not yet handed to out
	spare   []byte    // the buffer the flusher last emptied
	ready   sync.Cond // signals the flusher: pending is not empty, or closing
	room    sync.Cond // signals writers: pending shrank
	closing bool
	err     error // the first error of out
	done    chan struct{}
}

// New returns a Writer that writes to out, letting at most maxBytes wait
// before Write blocks (a line longer than that is still taken whole).
func New(out io.Writer, maxBytes int) *Writer {
	w := &Writer{out: out, maxBytes: maxBytes, done: make(chan struct{})}
	w.ready.L = &w.mu
	w.room.L = &w.mu
	go w.flush()
	return w
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("logbuf: writer closed")

// Write queues p for writing and returns at once, unless maxBytes are
// already waiting; then it waits until the flusher has taken them.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.pending) > 0 && len(w.pending)+len(p) > w.maxBytes && !w.closing {
		w.room.Wait()
	}
	if w.closing {
		return 0, ErrClosed
	}
	w.pending = append(w.pending, p...)
	w.ready.Signal()
	return len(p), nil
}

// flush writes whatever is pending until the writer is closed and empty.
func (w *Writer) flush() {
	defer close(w.done)
	w.mu.Lock()
	for {
		for len(w.pending) == 0 && !w.closing {
			w.ready.Wait()
		}
		if len(w.pending) == 0 {
			w.mu.Unlock()
			return
		}
		chunk := w.pending
		w.pending = w.spare[:0]
		w.room.Broadcast()
		w.mu.Unlock()
		_, err := w.out.Write(chunk)
		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
		}
		w.spare = chunk
	}
}

// Close writes everything written so far to the underlying writer, stops
// the flusher, and returns the first error the underlying writer returned.
// Writes after Close fail with ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.closing = true
	w.ready.Signal()
	w.room.Broadcast()
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
