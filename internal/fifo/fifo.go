// Package fifo provides an unbounded first-in, first-out queue that hands
// items from an MQTT client's receive goroutine to a worker.
//
// The receive side must never block: paho reads the acknowledgements of the
// client's own publishes on that same goroutine, so a worker that publishes
// while the receive side waits for it would wait for itself. The queue is
// therefore unbounded; the broker's max_inflight_messages bounds how much a
// client can be handed before it acknowledges.
package fifo

import "sync"

// Queue is an unbounded FIFO queue, safe for one or more producers and one
// consumer.
type Queue[T any] struct {
	mu     sync.Mutex
	items  []T
	signal chan struct{} // one token while items is non-empty
}

// New returns an empty queue.
func New[T any]() *Queue[T] { return &Queue[T]{signal: make(chan struct{}, 1)} }

// Push appends v. It never blocks.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// Take moves up to max items, oldest first, from the queue to dst and
// returns dst.
func (q *Queue[T]) Take(dst []T, max int) []T {
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

// Ready receives a value when the queue may hold items; a consumer that
// finds Take empty waits on it.
func (q *Queue[T]) Ready() <-chan struct{} { return q.signal }
