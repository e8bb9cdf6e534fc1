package postgres

import "testing"

func TestNumbered(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                                                  "SELECT 1",
		"DELETE FROM t WHERE a = ?":                                 "DELETE FROM t WHERE a = $1",
		"UPDATE t SET a = ?, b = ? WHERE c = ?":                     "UPDATE t SET a = $1, b = $2 WHERE c = $3",
		"INSERT INTO t(a, b) VALUES (?, ?)":                         "INSERT INTO t(a, b) VALUES ($1, $2)",
		"SELECT ? FROM t WHERE x IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)": "SELECT $1 FROM t WHERE x IN ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
	} {
		if got := numbered(in); got != want {
			t.Errorf("numbered(%q) = %q, want %q", in, got, want)
		}
	}
}
