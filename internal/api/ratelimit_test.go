package api

import "testing"

func TestLoginLimiter(t *testing.T) {
	l := newLoginLimiter()
	for i := 1; i <= loginPerName.burst; i++ {
		if !l.allow("ann", "10.0.0.1") {
			t.Fatalf("try %d for ann refused", i)
		}
	}
	if l.allow("ann", "10.0.0.2") {
		t.Fatal("a try beyond ann's burst allowed from another address")
	}
	if !l.allow("bo", "10.0.0.1") {
		t.Fatal("another name refused although its address has tries left")
	}
	// One address trying many names runs out too.
	for i := 0; i < loginPerIP.burst; i++ {
		l.allow("name"+string(rune('a'+i%26))+string(rune('a'+i/26)), "10.0.0.9")
	}
	if l.allow("fresh", "10.0.0.9") {
		t.Fatal("an address beyond its burst allowed")
	}
}

func TestClientIP(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5000": "127.0.0.1",
		"[::1]:80":       "::1",
		"unix":           "unix",
		"":               "",
	} {
		if got := clientIP(in); got != want {
			t.Errorf("clientIP(%q) = %q, want %q", in, got, want)
		}
	}
}
