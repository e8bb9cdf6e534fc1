package apidocs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tmsproject/tms/internal/apidocs"
)

var update = flag.Bool("update", false, "rewrite openapi.json from openapi.yaml")

// loadSpec loads and validates openapi.yaml.
func loadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

// specJSON is openapi.json as generated from openapi.yaml.
func specJSON(t testing.TB, doc *openapi3.T) []byte {
	t.Helper()
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatalf("encode the document as JSON: %v", err)
	}
	return append(data, '\n')
}

func TestSpecIsValid(t *testing.T) {
	doc := loadSpec(t)
	ids := map[string]string{}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Find(path).Operations() {
			where := method + " " + path
			switch {
			case op.OperationID == "":
				t.Errorf("%s: no operationId", where)
			case ids[op.OperationID] != "":
				t.Errorf("%s: operationId %s is also used by %s", where, op.OperationID, ids[op.OperationID])
			}
			ids[op.OperationID] = where
			if op.Summary == "" || len(op.Tags) == 0 {
				t.Errorf("%s: no summary or no tag", where)
			}
			if op.Security == nil {
				t.Errorf("%s: no security requirement (use [] for none)", where)
			}
			success := false
			for code := range op.Responses.Map() {
				if code < "400" {
					success = true
				}
			}
			if !success {
				t.Errorf("%s: documents no successful answer", where)
			}
		}
	}
}

func TestJSONMatchesYAML(t *testing.T) {
	want := specJSON(t, loadSpec(t))
	if *update {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("openapi.json differs from openapi.yaml; run: go test ./internal/apidocs -run TestJSONMatchesYAML -update")
	}
}

// specRoutes returns every operation of the document as a ServeMux
// pattern, "GET /v1/tms/client/{client_id}".
func specRoutes(doc *openapi3.T) []string {
	var out []string
	for _, path := range doc.Paths.InMatchingOrder() {
		for method := range doc.Paths.Find(path).Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// muxPattern writes a ServeMux pattern in the document's form: the root
// "{$}" is the path "/".
func muxPattern(pattern string) string {
	return strings.Replace(pattern, "/{$}", "/", 1)
}

// TestServedServers checks that the served documents list the configured
// server URLs as their servers, and are the files otherwise.
func TestServedServers(t *testing.T) {
	mux := http.NewServeMux()
	apidocs.Routes([]string{"https://tms.example.org:3000/v1", "https://tms2.example.org/"})(mux)
	onDisk := loadSpec(t)
	for _, path := range []string{apidocs.SpecYAMLPath, apidocs.SpecJSONPath} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		served, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var urls []string
		for _, s := range served.Servers {
			urls = append(urls, s.URL)
		}
		if want := []string{"https://tms.example.org:3000", "https://tms2.example.org"}; !slices.Equal(urls, want) {
			t.Errorf("GET %s lists the servers %q, want %q", path, urls, want)
		}
		served.Servers = onDisk.Servers
		got, _ := json.Marshal(served)
		want, _ := json.Marshal(onDisk)
		if !bytes.Equal(got, want) {
			t.Errorf("GET %s differs from the file in more than the servers", path)
		}
	}
}
