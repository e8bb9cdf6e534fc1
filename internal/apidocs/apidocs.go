// Package apidocs serves the description of the TMS API: a hand-written
// OpenAPI 3 document embedded in the binary, at /openapi.yaml and
// /openapi.json, and an interactive documentation page at /docs made of
// embedded Swagger UI assets, so that it works without network access.
// GET / redirects to /docs, where tms_server 0.3.0 served its Swagger UI.
//
// openapi.yaml is the source; openapi.json is generated from it by
// "go test ./internal/apidocs -run TestJSONMatchesYAML -update", and a
// test fails when the two differ or when the server's routes and answers
// differ from the document. Both list the server "/" (this server); the
// server serves them with the URLs of its configuration (server_urls)
// instead.
package apidocs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed openapi.yaml openapi.json ui
var files embed.FS

func mustRead(name string) []byte {
	data, err := fs.ReadFile(files, name)
	if err != nil {
		panic(fmt.Sprintf("apidocs: embedded file %s: %v", name, err))
	}
	return data
}

// docsPolicy is the Content-Security-Policy of the documentation page:
// everything comes from this server; Swagger UI needs inline styles.
const docsPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// document is an embedded file ready to serve.
type document struct {
	body        []byte
	contentType string
	etag        string
	cache       string
}

func newDocument(name, contentType, cache string) document {
	return newDocumentOf(mustRead(name), contentType, cache)
}

func newDocumentOf(body []byte, contentType, cache string) document {
	sum := sha256.Sum256(body)
	return document{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, cache: cache}
}

// serve writes the document, answering conditional and HEAD requests.
func (d document) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", d.contentType)
	h.Set("Cache-Control", d.cache)
	h.Set("ETag", d.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(d.body))
}

// The routes this package serves.
const (
	SpecYAMLPath = "/openapi.yaml"
	SpecJSONPath = "/openapi.json"
	DocsPath     = "/docs"
)

// The servers list of the embedded documents, replaced by the configured
// URLs when served.
const (
	yamlServers = "\nservers:\n  - url: /\n"
	jsonServers = "\n  \"servers\": [\n    {\n      \"url\": \"/\"\n    }\n  ],\n"
)

// ServerURL is how the document lists a configured server URL: the
// document's paths start with /v1, so a URL ending in /v1 (the form of
// tms_server 0.3.0's server_urls, whose document's paths started below it)
// is listed without it.
func ServerURL(u string) string {
	u = strings.TrimSuffix(u, "/")
	return strings.TrimSuffix(u, "/v1")
}

// withServers returns the embedded YAML and JSON documents listing
// serverURLs as their servers (none: "/", the server that serves them).
func withServers(serverURLs []string) (yamlDoc, jsonDoc []byte) {
	yamlDoc, jsonDoc = mustRead("openapi.yaml"), mustRead("openapi.json")
	if len(serverURLs) == 0 {
		return yamlDoc, jsonDoc
	}
	var y strings.Builder
	type server struct {
		URL string `json:"url"`
	}
	var list []server
	y.WriteString("\nservers:\n")
	for _, u := range serverURLs {
		u = ServerURL(u)
		y.WriteString("  - url: " + strconv.Quote(u) + "\n")
		list = append(list, server{URL: u})
	}
	j, err := json.MarshalIndent(list, "  ", "  ")
	if err != nil {
		panic(fmt.Sprintf("apidocs: encode servers: %v", err))
	}
	return replaceOnce(yamlDoc, yamlServers, y.String()), replaceOnce(jsonDoc, jsonServers, "\n  \"servers\": "+string(j)+",\n")
}

func replaceOnce(doc []byte, old, new string) []byte {
	if bytes.Count(doc, []byte(old)) != 1 {
		panic(fmt.Sprintf("apidocs: the embedded document does not list the servers as %q", old))
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}

// Routes returns a function that adds the documentation routes to a mux
// (api.Options.Extra takes it); the documents list serverURLs as the
// servers of the API.
func Routes(serverURLs []string) func(*http.ServeMux) {
	yamlBody, jsonBody := withServers(serverURLs)
	return func(mux *http.ServeMux) { register(mux, yamlBody, jsonBody) }
}

func register(mux *http.ServeMux, yamlBody, jsonBody []byte) {
	const revalidate = "no-cache"
	yamlDoc := newDocumentOf(yamlBody, "application/yaml; charset=utf-8", revalidate)
	jsonDoc := newDocumentOf(jsonBody, "application/json; charset=utf-8", revalidate)
	page := newDocument("ui/index.html", "text/html; charset=utf-8", revalidate)
	assets := map[string]document{}
	for name, contentType := range map[string]string{
		"swagger-ui.css":                   "text/css; charset=utf-8",
		"swagger-ui-bundle.js":             "text/javascript; charset=utf-8",
		"init.js":                          "text/javascript; charset=utf-8",
		"LICENSE":                          "text/plain; charset=utf-8",
		"NOTICE":                           "text/plain; charset=utf-8",
		"swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
	} {
		assets[name] = newDocument(path.Join("ui", name), contentType, "public, max-age=86400")
	}

	mux.HandleFunc("GET "+SpecYAMLPath, yamlDoc.serve)
	mux.HandleFunc("GET "+SpecJSONPath, jsonDoc.serve)
	mux.HandleFunc("GET "+DocsPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", docsPolicy)
		w.Header().Set("Referrer-Policy", "no-referrer")
		page.serve(w, r)
	})
	mux.HandleFunc("GET "+DocsPath+"/{file}", func(w http.ResponseWriter, r *http.Request) {
		asset, ok := assets[r.PathValue("file")]
		if !ok {
			http.Error(w, "no such file of the documentation page", http.StatusNotFound)
			return
		}
		asset.serve(w, r)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, DocsPath, http.StatusFound)
	})
}
