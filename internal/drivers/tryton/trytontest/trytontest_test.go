package trytontest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// failRecorder is a testing.TB whose Fatalf records the message and ends the goroutine.
type failRecorder struct {
	testing.TB
	message string
}

func (r *failRecorder) Helper() {}

func (r *failRecorder) Fatalf(format string, args ...any) {
	r.message = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Without trytond the test fails (it does not skip) and says how to install it.
func TestStartWithoutTryton(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := &failRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(r)
	}()
	<-done
	if !strings.Contains(r.message, "trytond is not installed: run scripts/tryton.sh") {
		t.Fatalf("Start without trytond: %q", r.message)
	}
}
