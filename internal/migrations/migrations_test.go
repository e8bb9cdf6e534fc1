package migrations

import (
	"reflect"
	"testing"
)

func TestLoad(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres} {
		all, err := Load(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) == 0 || all[0].Version != 1 {
			t.Fatalf("%s: %d migrations, first %+v", d, len(all), all[0])
		}
		for i := 1; i < len(all); i++ {
			if all[i].Version <= all[i-1].Version {
				t.Fatalf("%s: migrations out of order at %d", d, all[i].Version)
			}
		}
	}
}

func TestPending(t *testing.T) {
	all := []Migration{{Version: 1}, {Version: 2}, {Version: 3}, {Version: 4}}
	versions := func(ms []Migration) []int {
		var out []int
		for _, m := range ms {
			out = append(out, m.Version)
		}
		return out
	}
	tests := []struct {
		applied []int
		want    []int
		err     bool
	}{
		{nil, []int{1, 2, 3, 4}, false},
		{[]int{1, 2}, []int{3, 4}, false},
		{[]int{1, 2, 4}, []int{3}, false}, // a gap left by a migration added out of order
		{[]int{1, 2, 3, 4}, nil, false},
		{[]int{1, 2, 3, 4, 5}, nil, true},
	}
	for _, tc := range tests {
		got, err := Pending(all, tc.applied)
		if (err != nil) != tc.err || !reflect.DeepEqual(versions(got), tc.want) {
			t.Errorf("Pending(%v) = %v, %v; want %v, error %v", tc.applied, versions(got), err, tc.want, tc.err)
		}
	}
}
