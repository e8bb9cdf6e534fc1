// Package apidocs serves the description of the TMS API: a hand-written
// OpenAPI 3 document embedded in the binary, at /openapi.yaml and
// /openapi.json, and an interactive documentation page at /docs made of
// embedded Swagger UI assets, so that it works without network access.
// GET / redirects to /docs, where tms_server 0.3.0 served its Swagger UI.
//
// openapi.yaml is the source; openapi.json is generated from it by
// "go test ./internal/apidocs -run TestJSONMatchesYAML -update", and a
// test fails when the two differ or when the server's routes and answers
// differ from the document.
package apidocs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
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
	body := mustRead(name)
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

// Register adds the documentation routes to mux; api.Options.Extra takes
// it.
func Register(mux *http.ServeMux) {
	const revalidate = "no-cache"
	yamlDoc := newDocument("openapi.yaml", "application/yaml; charset=utf-8", revalidate)
	jsonDoc := newDocument("openapi.json", "application/json; charset=utf-8", revalidate)
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
