package main

import (
	"testing"

	"github.com/junction-hub/junction/internal/server/servertest"
)

// startTestServer runs the real server in-process on a random port with a fresh SQLite store.
func startTestServer(t *testing.T) (baseURL, token string) {
	t.Helper()
	in := servertest.Start(t, servertest.Options{})
	return in.URL, in.Token
}
