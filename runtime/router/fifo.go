package router

import "sync"

// fifo is an unbounded queue between the MQTT client's receive goroutine
// and the routing loop. The receive side must never block: the client
// reads the acknowledgements of the router's own publishes on that same
// goroutine, so a blocked handler would wait for itself. The broker's
// max_inflight_messages bounds how much it holds.
type fifo[T any] struct {
	mu     sync.Mutex
	items  []T
	signal chan struct{} // one token while items is non-empty
}

func newFIFO[T any]() *fifo[T] { return &fifo[T]{signal: make(chan struct{}, 1)} }

func (q *fifo[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take appends up to max items to dst.
func (q *fifo[T]) take(dst []T, max int) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.items), max)
	dst = append(dst, q.items[:n]...)
	rest := copy(q.items, q.items[n:])
	clear(q.items[rest:])
	q.items = q.items[:rest]
	if rest > 0 {
		select {
		case q.signal <- struct{}{}:
		default:
		}
	}
	return dst
}
