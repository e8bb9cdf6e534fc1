package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tmsproject/tms/internal/client"
)

// output writes aligned tables: "name  value" records and lists with a
// header row.
type output struct {
	tw *tabwriter.Writer
}

func newOutput(w io.Writer) *output {
	return &output{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

// line writes a line outside any table.
func (o *output) line(format string, args ...any) {
	fmt.Fprintf(o.tw, "%s\n", cell(fmt.Sprintf(format, args...)))
}

// field writes one "name  value" row of a record.
func (o *output) field(name string, value any) {
	fmt.Fprintf(o.tw, "%s\t%s\n", name, cell(fmt.Sprint(value)))
}

// row writes one row of a list.
func (o *output) row(cells ...string) {
	for i, c := range cells {
		cells[i] = cell(c)
	}
	fmt.Fprintln(o.tw, strings.Join(cells, "\t"))
}

func (o *output) flush() error {
	if err := o.tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// cell keeps a value on one line and in one column.
func cell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// printJSON pretty-prints a JSON answer.
func printJSON(w io.Writer, raw json.RawMessage) error {
	if len(raw) == 0 {
		return errors.New("no JSON answer to print")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("print the server's answer: %w", err)
	}
	buf.WriteByte('\n')
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// when formats a timestamp in UTC, "never" for the server's far future,
// and "-" when the answer had none.
func when(t time.Time) string {
	switch {
	case t.IsZero():
		return "-"
	case client.Never(t):
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// expiry formats the expires_msg of an update answer: a timestamp, or a
// word such as UNCHANGED.
func expiry(msg string) string {
	t, err := time.Parse(time.RFC3339Nano, msg)
	if err != nil {
		return msg
	}
	return when(t)
}

// showExpiryUpdate prints the answer of an update that sets an expiry: its
// message and, when a record changed, the new expiry.
func showExpiryUpdate(o *output, res client.Updated) {
	o.line("%s", res.ResultMsg)
	if res.FieldsUpdated > 0 {
		o.field("expires_at", expiry(res.ExpiresMsg))
	}
}

// uses describes a key's use limit.
func uses(maxUses, remaining int64) string {
	if maxUses >= client.Unlimited {
		return "unlimited"
	}
	return fmt.Sprintf("%d of %d left", remaining, maxUses)
}

// boolText formats an enabled flag as the API writes it.
func boolText(b client.Bool) string { return strconv.FormatBool(bool(b)) }
