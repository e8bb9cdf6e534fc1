package api

import "net/http"

func (a *API) hello(w http.ResponseWriter, r *http.Request) {
	msg := "hello!"
	if name := r.URL.Query().Get("name"); name != "" {
		msg = "hello, " + name + "!"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(msg))
}

type versionResponse struct {
	GitBranch  string `json:"git_branch"`
	GitCommit  string `json:"git_commit"`
	GitDirty   string `json:"git_dirty"`
	GoVersion  string `json:"go_version"`
	ResultCode string `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
	SourceTS   string `json:"source_ts"`
	TMSVersion string `json:"tms_version"`
}

func (a *API) version(w http.ResponseWriter, r *http.Request) {
	v := a.opts.Version
	dirty := "false"
	if v.Dirty {
		dirty = "true"
	}
	writeJSON(w, http.StatusOK, versionResponse{
		GitBranch: v.Branch, GitCommit: v.Commit, GitDirty: dirty, GoVersion: v.GoVersion,
		ResultCode: "0", ResultMsg: success, SourceTS: v.SourceTS, TMSVersion: v.Version,
	})
}
