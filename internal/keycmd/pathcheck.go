package keycmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CommandPathProblems lists the reasons sshd would refuse to run path as
// its AuthorizedKeysCommand, in the order sshd checks them: after resolving
// symbolic links, the file and every directory above it must be owned by
// root and not writable by group or others. An empty list means sshd
// accepts the path.
func CommandPathProblems(path string) []string {
	if !filepath.IsAbs(path) {
		return []string{fmt.Sprintf("%s is not an absolute path", path)}
	}
	resolved, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{fmt.Sprintf("%s does not exist", path)}
	}
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for p := resolved; ; p = filepath.Dir(p) {
		if problem := ownershipProblem(p, p == resolved); problem != "" {
			problems = append(problems, problem)
		}
		if p == filepath.Dir(p) {
			return problems
		}
	}
}

// ownershipProblem describes what is wrong with one path sshd checks, or
// returns "".
func ownershipProblem(path string, isCommand bool) string {
	info, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	switch {
	case isCommand && !info.Mode().IsRegular():
		return fmt.Sprintf("%s is not a regular file", path)
	case isCommand && info.Mode().Perm()&0o111 == 0:
		return fmt.Sprintf("%s is not executable", path)
	case info.Mode().Perm()&0o022 != 0:
		return fmt.Sprintf("%s is writable by group or others (mode %04o)", path, info.Mode().Perm())
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
		return fmt.Sprintf("%s is owned by uid %d, not root", path, st.Uid)
	}
	return ""
}
