package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/drivers/sqlite"
	"github.com/curtainhq/curtain/internal/testenv"
	"github.com/curtainhq/curtain/plugins/memory"
)

// TestRateLimitsSharedThroughRedis: two instances with rate_limits.redis_url
// share one budget per client: a burst of 4 allows 4 redirects in all,
// whichever instance serves them; the 429 names when to retry.
func TestRateLimitsSharedThroughRedis(t *testing.T) {
	// A redis-server of the test's own (testenv skips under -short).
	redis := testenv.StartRedis(t, testenv.RedisOptions{})
	client := goredis.NewClient(&goredis.Options{Addr: redis.Addr()})
	defer client.Close()
	const prefix = "curtain-test:"

	store, err := sqlite.Open(t.Context(), t.TempDir()+"/curtain.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u := core.URL{ShortCode: "shared", OriginalURL: "https://example.com/shared", IsActive: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := store.CreateURL(t.Context(), &u, nil); err != nil {
		t.Fatal(err)
	}
	var instances []*httptest.Server
	for range 2 {
		svc := core.NewService(store, core.ServiceConfig{Counter: memory.NewCounter()})
		srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{RateLimits: httpapi.RateLimits{
			Redirect: httpapi.RateLimit{Requests: 1, Per: time.Hour, Burst: 4},
			Shared:   newRedisLimiter(client, prefix),
		}}))
		defer srv.Close()
		instances = append(instances, srv)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	statuses := map[int]int{}
	var retryAfter string
	for i := range 10 {
		resp, err := noFollow.Get(instances[i%2].URL + "/r/shared")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			retryAfter = resp.Header.Get("Retry-After")
		}
	}
	if statuses[http.StatusFound] != 4 || statuses[http.StatusTooManyRequests] != 6 {
		t.Errorf("10 redirects over two instances sharing a burst of 4: %v", statuses)
	}
	if retryAfter == "" || retryAfter == "0" {
		t.Errorf("Retry-After = %q", retryAfter)
	}

	// A limiter that cannot reach Redis lets requests through.
	dead := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer dead.Close()
	svc := core.NewService(store, core.ServiceConfig{})
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{RateLimits: httpapi.RateLimits{
		Redirect: httpapi.RateLimit{Requests: 1, Per: time.Hour, Burst: 1},
		Shared:   newRedisLimiter(dead, prefix),
	}}))
	defer srv.Close()
	for range 3 {
		resp, err := noFollow.Get(srv.URL + "/r/shared")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Errorf("redirect with Redis down = %d, want 302", resp.StatusCode)
		}
	}
}

func TestRateLimitsConfig(t *testing.T) {
	limits, closeLimits, err := rateLimits(t.Context(), config.RateLimits{
		Redirect: config.RateLimit{Requests: 100, Per: time.Second, Burst: 200},
		Auth:     config.RateLimit{Requests: 5, Per: time.Minute, Burst: 5},
		RedisURL: "redis://127.0.0.1:6379/0",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeLimits()
	if limits.Redirect != (httpapi.RateLimit{Requests: 100, Per: time.Second, Burst: 200}) || limits.Shared == nil || limits.Create.Requests != 0 ||
		limits.Auth != (httpapi.RateLimit{Requests: 5, Per: time.Minute, Burst: 5}) {
		t.Errorf("limits = %+v", limits)
	}
}

// TestRateLimitsRefuseClusterNode: rate_limits.redis_url naming a node of
// a Redis Cluster stops the start. Its single-server client would count
// only the clients whose keys hash to that node's slots and fail every
// other count with MOVED, which lets the request through: the shared
// limits would silently hold for a third of the clients on three masters.
func TestRateLimitsRefuseClusterNode(t *testing.T) {
	node := testenv.StartRedis(t, testenv.RedisOptions{ClusterBus: true, Args: []string{
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"}})
	for _, db := range []string{"0", "1"} {
		_, closeLimits, err := rateLimits(t.Context(), config.RateLimits{
			Redirect: config.RateLimit{Requests: 10, Per: time.Second, Burst: 10},
			RedisURL: config.Secret("redis://" + node.Addr() + "/" + db),
		})
		closeLimits()
		if err == nil || !strings.Contains(err.Error(), "Redis Cluster") {
			t.Errorf("rate_limits.redis_url of a cluster node (database %s): err = %v, want a refusal naming the cluster", db, err)
		}
	}
}
