package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverLock is the exclusive lock a server holds on its SQLite database,
// so that a second server on the same database is refused. The lock file
// says which server holds it; the lock is an flock, which ends with the
// process, so a server that crashed leaves no lock behind.
type serverLock struct {
	f *os.File
}

// serverLockFile is the lock file of the SQLite database at dbPath.
func serverLockFile(dbPath string) string { return dbPath + ".server.lock" }

// lockDatabase takes the server lock of the SQLite database at dbPath, or
// returns an error that names the server holding it.
func lockDatabase(dbPath string) (*serverLock, error) {
	path := serverLockFile(dbPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, _ := os.ReadFile(path)
			return nil, fmt.Errorf("another tms server uses the database %s (%s); stop it first, or give this one another --root-dir",
				dbPath, describeHolder(string(holder)))
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	l := &serverLock{f: f}
	if err := l.record(""); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

// record writes who holds the lock: this process and the URL it serves.
func (l *serverLock) record(url string) error {
	text := fmt.Sprintf("pid %d\nstarted %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	if url != "" {
		text += "url " + url + "\n"
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if _, err := l.f.WriteAt([]byte(text), 0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// release ends the lock.
func (l *serverLock) release() {
	l.f.Truncate(0)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// describeHolder turns the lock file's text into "pid 12, http://…,
// started …".
func describeHolder(text string) string {
	var parts []string
	for line := range strings.SplitSeq(text, "\n") {
		key, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		switch key {
		case "pid":
			if _, err := strconv.Atoi(value); err == nil {
				parts = append(parts, "pid "+value)
			}
		case "url", "started":
			parts = append(parts, key+" "+value)
		}
	}
	if len(parts) == 0 {
		return "starting"
	}
	return strings.Join(parts, ", ")
}
