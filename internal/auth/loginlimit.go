package auth

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login attempts allowed, the same for the API's login and the console's: per user name
// (guessing one account's password) and per client address (trying many names from one
// place; more generous, as an office shares one address).
const (
	LoginBurstPerName = 5
	LoginBurstPerIP   = 30
)

// LoginLimiter counts login attempts, successful or not, in token buckets that refill
// over a minute.
type LoginLimiter struct {
	mu     sync.Mutex
	byName map[string]*rate.Limiter
	byIP   map[string]*rate.Limiter
}

// NewLoginLimiter makes an empty limiter; every bucket starts full.
func NewLoginLimiter() *LoginLimiter {
	return &LoginLimiter{byName: map[string]*rate.Limiter{}, byIP: map[string]*rate.Limiter{}}
}

// Allow takes one attempt from both the name's and the address's buckets; false when
// either is empty.
func (l *LoginLimiter) Allow(name, ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	n := loginBucket(l.byName, name, LoginBurstPerName, now)
	i := loginBucket(l.byIP, ip, LoginBurstPerIP, now)
	okName, okIP := n.AllowN(now, 1), i.AllowN(now, 1)
	return okName && okIP
}

// loginBucket finds or makes the limiter of key; when the map grows large, full buckets
// (which behave exactly like new ones) are dropped first.
func loginBucket(m map[string]*rate.Limiter, key string, burst int, now time.Time) *rate.Limiter {
	if lim, ok := m[key]; ok {
		return lim
	}
	if len(m) >= 10000 {
		for k, lim := range m {
			if lim.TokensAt(now) >= float64(burst) {
				delete(m, k)
			}
		}
	}
	lim := rate.NewLimiter(rate.Every(time.Minute/time.Duration(burst)), burst)
	m[key] = lim
	return lim
}

// ClientIP is the host of a request's remote address (forwarding headers are not trusted).
func ClientIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
