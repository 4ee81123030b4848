package drivertest

import "testing"

func TestLooksSecret(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"password", true},
		{"api_key", true},
		{"apiKey", true},
		{"apikey", true},
		{"client_secret", true},
		{"access-token", true},
		{"key", true},
		{"key_column", false},
		{"tokenizer", false},
		{"monkey", false},
		{"host", false},
		{"secret_name", false},
	}
	for _, tt := range tests {
		if got := LooksSecret(tt.name); got != tt.want {
			t.Errorf("LooksSecret(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
