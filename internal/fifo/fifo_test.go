package fifo

import "testing"

func TestQueueOrderAndSignal(t *testing.T) {
	q := New[int]()
	for i := range 5 {
		q.Push(i)
	}
	select {
	case <-q.Ready():
	default:
		t.Fatal("got no ready signal after Push, want one")
	}
	got := q.Take(nil, 3)
	if len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("got %v, want [0 1 2]", got)
	}
	// Items remain, so Take must leave the signal set for the consumer.
	select {
	case <-q.Ready():
	default:
		t.Fatal("got no ready signal with items left, want one")
	}
	got = q.Take(got[:0], 10)
	if len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Fatalf("got %v, want [3 4]", got)
	}
	if got := q.Take(nil, 10); len(got) != 0 {
		t.Fatalf("got %v from an empty queue, want nothing", got)
	}
}
