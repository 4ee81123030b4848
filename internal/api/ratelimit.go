package api

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login attempts allowed: per user name (guessing one account's password) and per client
// address (trying many names from one place; more generous, as an office shares one).
var (
	loginPerName = rateSpec{every: time.Minute / 5, burst: 5}
	loginPerIP   = rateSpec{every: time.Minute / 30, burst: 30}
)

type rateSpec struct {
	every time.Duration
	burst int
}

// loginLimiter counts login attempts, successful or not, in token buckets.
type loginLimiter struct {
	mu     sync.Mutex
	byName map[string]*rate.Limiter
	byIP   map[string]*rate.Limiter
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{byName: map[string]*rate.Limiter{}, byIP: map[string]*rate.Limiter{}}
}

// allow takes one attempt from both of the name's and the address's buckets; false when
// either is empty.
func (l *loginLimiter) allow(name, ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	n := bucket(l.byName, name, loginPerName, now)
	i := bucket(l.byIP, ip, loginPerIP, now)
	okName, okIP := n.AllowN(now, 1), i.AllowN(now, 1)
	return okName && okIP
}

// bucket finds or makes the limiter of key; when the map grows large, full buckets (which
// behave exactly like new ones) are dropped first.
func bucket(m map[string]*rate.Limiter, key string, spec rateSpec, now time.Time) *rate.Limiter {
	if lim, ok := m[key]; ok {
		return lim
	}
	if len(m) >= 10000 {
		for k, lim := range m {
			if lim.TokensAt(now) >= float64(spec.burst) {
				delete(m, k)
			}
		}
	}
	lim := rate.NewLimiter(rate.Every(spec.every), spec.burst)
	m[key] = lim
	return lim
}

// clientIP is the host of a remote address (forwarding headers are not trusted).
func clientIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
