package hubsync

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hub/api"
)

// MaxQueued bounds the patches a Reporter keeps while the hub is away.
// Status patches are merged into one, so only twin patches can fill it.
const MaxQueued = 10000

// Reporter delivers reported patches to the hub in the order they were
// given, retrying with back-off while the hub is unreachable. It implements
// extension.Reporter.
type Reporter struct {
	client *Client
	log    *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between failed attempts.
	MinBackoff, MaxBackoff time.Duration

	mu    sync.Mutex
	queue []api.ReportedPatch
	wake  chan struct{}
}

// NewReporter returns a Reporter sending through c. Call Run to deliver.
func NewReporter(c *Client, log *slog.Logger) *Reporter {
	return &Reporter{
		client:     c,
		log:        log,
		MinBackoff: time.Second,
		MaxBackoff: 30 * time.Second,
		wake:       make(chan struct{}, 1),
	}
}

// Report queues p and returns at once.
//
// Fields other than Twins replace what the hub holds, so a patch without
// twins is merged into a queued one without twins rather than queued behind
// it: a gateway offline for a week sends one status patch, not thousands.
func (r *Reporter) Report(p api.ReportedPatch) {
	r.mu.Lock()
	if n := len(r.queue); n > 0 && len(r.queue[n-1].Twins) == 0 && len(p.Twins) == 0 {
		r.queue[n-1] = merge(r.queue[n-1], p)
	} else {
		r.queue = append(r.queue, p)
		if len(r.queue) > MaxQueued {
			r.log.Warn("reported queue full, dropping oldest patch")
			r.queue = r.queue[1:]
		}
	}
	r.mu.Unlock()

	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Pending returns how many patches wait for delivery.
func (r *Reporter) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

// Run delivers queued patches until ctx is cancelled.
func (r *Reporter) Run(ctx context.Context) {
	backoff := r.MinBackoff
	for {
		r.mu.Lock()
		var p api.ReportedPatch
		have := len(r.queue) > 0
		if have {
			p = r.queue[0]
		}
		r.mu.Unlock()

		if !have {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
				continue
			}
		}

		if err := r.client.Send(ctx, p); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("sending reported state", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, r.MaxBackoff)
			continue
		}
		backoff = r.MinBackoff

		// Drop the delivered patch. Report may have merged newer fields into
		// it meanwhile; those are kept and sent again.
		r.mu.Lock()
		if equalPatch(r.queue[0], p) {
			r.queue = r.queue[1:]
		}
		r.mu.Unlock()
	}
}

// merge returns a followed by b; b's fields win.
func merge(a, b api.ReportedPatch) api.ReportedPatch {
	if b.Agent != nil {
		a.Agent = b.Agent
	}
	if b.AppliedVersion != nil {
		a.AppliedVersion = b.AppliedVersion
	}
	if b.LastError != nil {
		a.LastError = b.LastError
	}
	if len(b.Modules) > 0 {
		m := make(map[string]*api.ModuleStatus, len(a.Modules)+len(b.Modules))
		maps.Copy(m, a.Modules)
		maps.Copy(m, b.Modules)
		a.Modules = m
	}
	return a
}

// equalPatch reports whether a is the very patch b (same pointers and maps),
// which is enough to tell whether Report merged into it meanwhile.
func equalPatch(a, b api.ReportedPatch) bool {
	if a.Agent != b.Agent || a.AppliedVersion != b.AppliedVersion || a.LastError != b.LastError {
		return false
	}
	if len(a.Modules) != len(b.Modules) || len(a.Twins) != len(b.Twins) {
		return false
	}
	for k, v := range a.Modules {
		if w, ok := b.Modules[k]; !ok || w != v {
			return false
		}
	}
	return true
}
