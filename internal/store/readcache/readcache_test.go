package readcache

import "testing"

func TestCache(t *testing.T) {
	gen := NewGeneration()
	c := New[string, int](gen, 2)
	if _, ok := c.Get("a"); ok {
		t.Fatal("hit on an empty cache")
	}
	g, on := gen.Begin()
	c.Put("a", g, on, 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get after Put: %d %v", v, ok)
	}

	// An answer read before a write that commits meanwhile is never served.
	g, on = gen.Begin()
	gen.Invalidate()
	c.Put("b", g, on, 2)
	if _, ok := c.Get("b"); ok {
		t.Fatal("served an answer read before an invalidation")
	}
	if _, ok := c.Get("a"); ok {
		t.Fatal("served an entry after an invalidation")
	}

	// Disabled caching serves nothing and stores nothing.
	gen.SetEnabled(false)
	g, on = gen.Begin()
	c.Put("c", g, on, 3)
	if _, ok := c.Get("c"); ok {
		t.Fatal("served while disabled")
	}
	gen.SetEnabled(true)
	if _, ok := c.Get("c"); ok {
		t.Fatal("an entry stored while disabled was kept")
	}

	// The size bound empties the cache.
	g, on = gen.Begin()
	c.Put("x", g, on, 1)
	c.Put("y", g, on, 2)
	c.Put("z", g, on, 3)
	if _, ok := c.Get("x"); ok {
		t.Fatal("cache grew beyond its bound")
	}
	if v, ok := c.Get("z"); !ok || v != 3 {
		t.Fatal("newest entry lost")
	}
	hits, misses := c.Stats()
	if hits == 0 || misses == 0 {
		t.Fatalf("stats: %d hits, %d misses", hits, misses)
	}
}
