package auth

import (
	"fmt"
	"testing"
)

func TestLoginLimiter(t *testing.T) {
	l := NewLoginLimiter()
	for i := 1; i <= LoginBurstPerName; i++ {
		if !l.Allow("ann", "10.0.0.1") {
			t.Fatalf("try %d for ann refused", i)
		}
	}
	if l.Allow("ann", "10.0.0.2") {
		t.Fatal("a try beyond ann's burst allowed from another address")
	}
	if !l.Allow("bo", "10.0.0.1") {
		t.Fatal("another name refused although its address has tries left")
	}
	for i := 0; i < LoginBurstPerIP; i++ {
		l.Allow(fmt.Sprintf("name%d", i), "10.0.0.9")
	}
	if l.Allow("fresh", "10.0.0.9") {
		t.Fatal("an address beyond its burst allowed")
	}
}

func TestClientIP(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1:5000": "127.0.0.1", "[::1]:80": "::1", "pipe": "pipe"} {
		if got := ClientIP(in); got != want {
			t.Errorf("ClientIP(%q) = %q, want %q", in, got, want)
		}
	}
}
