// Package version reports the version of tms and how it was built.
package version

import (
	"runtime"
	"runtime/debug"
)

// These are set at link time with -ldflags "-X ...". Empty values are filled
// from the module build information where possible.
var (
	// Version is the release version of tms.
	Version = "1.0.0"
	// Commit is the source revision the binary was built from.
	Commit = ""
	// Branch is the source branch the binary was built from.
	Branch = ""
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Branch    string `json:"branch"`
	Dirty     bool   `json:"dirty"`
	BuildTime string `json:"build_time"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// Get returns the version information of the running binary.
func Get() Info {
	info := Info{
		Version:   Version,
		Commit:    Commit,
		Branch:    Branch,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				info.BuildTime = s.Value
			case "vcs.modified":
				info.Dirty = s.Value == "true"
			}
		}
	}
	if len(info.Commit) > 12 {
		info.Commit = info.Commit[:12]
	}
	return info
}
