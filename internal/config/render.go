package config

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// Template returns a commented tms.toml that sets every option to its
// default value.
func Template() string {
	c := Default()
	var b strings.Builder
	b.WriteString(`# TMS server configuration.
#
# Every option is shown with its default value. Each can also be set by an
# environment variable named TMS_ plus the key in upper case, with the section
# joined by "_" (for example TMS_HTTP_PORT, TMS_DATABASE_URL); environment
# variables override this file and command-line flags override both.
# "tms server --print-config" shows the effective values and their sources.
`)
	section := ""
	for _, f := range fields(&c) {
		if sec, _, ok := strings.Cut(f.key, "."); ok && sec != section {
			section = sec
			b.WriteString("\n")
			writeComment(&b, f.section)
			fmt.Fprintf(&b, "[%s]\n", sec)
		} else {
			b.WriteString("\n")
		}
		writeComment(&b, f.comment)
		name := f.key
		if i := strings.LastIndex(name, "."); i >= 0 {
			name = name[i+1:]
		}
		fmt.Fprintf(&b, "%s = %s\n", name, tomlValue(f.value))
	}
	return b.String()
}

func writeComment(b *strings.Builder, text string) {
	if text == "" {
		return
	}
	for line := range strings.SplitSeq(text, "\n") {
		b.WriteString("# " + line + "\n")
	}
}

func tomlValue(v reflect.Value) string {
	if d, ok := v.Interface().(Duration); ok {
		return strconv.Quote(d.String())
	}
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = strconv.Quote(v.Index(i).String())
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// Describe lists every effective value with its source, one per line, with
// secrets masked.
func Describe(c Config, src Sources) string {
	fs := fields(&c)
	width := 0
	for _, f := range fs {
		width = max(width, len(f.key))
	}
	var b strings.Builder
	for _, f := range fs {
		value := tomlValue(f.value)
		if f.secret {
			value = strconv.Quote(mask(f.value.String()))
		}
		fmt.Fprintf(&b, "%-*s = %-40s # %s\n", width, f.key, value, src[f.key])
	}
	return b.String()
}

// mask hides the password of a URL, or the whole value if it is not a URL.
func mask(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "********"
	}
	return u.Redacted()
}
