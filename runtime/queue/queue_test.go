package queue

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func open(t *testing.T, dir string, opt Options) *Queue {
	t.Helper()
	q, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func item(prio int, s string) Item { return Item{Priority: prio, Data: []byte(s)} }

// drain hands out every waiting message, acking it when ack is set.
func drain(t *testing.T, q *Queue, ack bool) []Entry {
	t.Helper()
	var out []Entry
	for {
		e, ok, err := q.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !ok {
			return out
		}
		out = append(out, e)
		if ack {
			q.Ack(e.Seq)
		}
	}
}

func datas(es []Entry) []string {
	var s []string
	for _, e := range es {
		s = append(s, string(e.Data))
	}
	return s
}

func TestOrderByPriorityThenFIFO(t *testing.T) {
	q := open(t, t.TempDir(), Options{})
	if err := q.Push(item(5, "a5"), item(0, "b0"), item(9, "c9"), item(0, "d0")); err != nil {
		t.Fatal(err)
	}
	if err := q.Push(item(5, "e5"), item(1, "f1")); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(datas(drain(t, q, true)))
	if want := "[b0 d0 f1 a5 e5 c9]"; got != want {
		t.Errorf("got order %s, want %s", got, want)
	}
}

func TestNackKeepsPlace(t *testing.T) {
	q := open(t, t.TempDir(), Options{})
	if err := q.Push(item(1, "a"), item(1, "b"), item(1, "c")); err != nil {
		t.Fatal(err)
	}
	a, _, _ := q.Next()
	b, _, _ := q.Next()
	q.Nack(b.Seq, a.Seq)
	es := drain(t, q, true)
	if got, want := fmt.Sprint(datas(es)), "[a b c]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if !es[0].Redelivery || !es[1].Redelivery || es[2].Redelivery {
		t.Errorf("got redelivery flags %v %v %v, want true true false", es[0].Redelivery, es[1].Redelivery, es[2].Redelivery)
	}
	if got := q.Stats().Redelivered; got != 2 {
		t.Errorf("got Redelivered %d, want 2", got)
	}
}

func TestReopenKeepsUnacked(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := q.Push(item(0, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		e, _, _ := q.Next()
		if e.Data[0] != '2' {
			q.Ack(e.Seq) // 0 and 1 delivered, 2 stays in flight
		}
	}
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("second Open of a locked directory: got nil error, want one")
	}
	q.Close()

	q = open(t, dir, Options{})
	if got := q.Stats().Messages; got != 8 {
		t.Fatalf("got %d messages after reopen, want 8", got)
	}
	es := drain(t, q, true)
	if got, want := fmt.Sprint(datas(es)), "[2 3 4 5 6 7 8 9]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if st := q.Stats(); st.Redelivered != 1 || st.Messages != 0 {
		t.Errorf("got Redelivered %d Messages %d, want 1 and 0", st.Redelivered, st.Messages)
	}
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func TestTornTailIsCutOff(t *testing.T) {
	tests := []struct {
		name string
		cut  int64 // bytes removed from the end of the last segment
		want int   // messages left
	}{
		{"mid record", 5, 4},
		{"mid frame header", 34 - 3, 4},
		{"whole record", 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if err := q.Push(item(0, fmt.Sprintf("msg%d-xxxxxxxxxx", i))); err != nil {
					t.Fatal(err)
				}
			}
			q.Close()
			segs := segments(t, dir)
			last := segs[len(segs)-1]
			fi, _ := os.Stat(last)
			if err := os.Truncate(last, fi.Size()-tt.cut); err != nil {
				t.Fatal(err)
			}

			q = open(t, dir, Options{})
			st := q.Stats()
			wantTorn := uint64(0)
			if tt.cut > 0 {
				wantTorn = 1
			}
			if st.Messages != tt.want || st.TornRecords != wantTorn {
				t.Errorf("got %d messages, %d torn; want %d, %d", st.Messages, st.TornRecords, tt.want, wantTorn)
			}
			// The queue keeps working after the repair.
			if err := q.Push(item(0, "after")); err != nil {
				t.Fatal(err)
			}
			es := drain(t, q, true)
			if len(es) != tt.want+1 || string(es[len(es)-1].Data) != "after" {
				t.Errorf("got %v, want %d old messages then after", datas(es), tt.want)
			}
		})
	}
}

func TestCorruptRecordInTheMiddle(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := q.Push(item(0, fmt.Sprintf("message-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	seg := segments(t, dir)[0]
	b, _ := os.ReadFile(seg)
	i := bytes.Index(b, []byte("message-1"))
	b[i] ^= 0xff
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}

	q = open(t, dir, Options{})
	got := fmt.Sprint(datas(drain(t, q, true)))
	if want := "[message-0]"; got != want || q.Stats().TornRecords != 1 {
		t.Errorf("got %s and %d torn, want %s and 1", got, q.Stats().TornRecords, want)
	}
}

func TestExpiry(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	q := open(t, t.TempDir(), Options{Now: c.Now})
	soon := c.Now().Add(time.Second)
	if err := q.Push(Item{Priority: 0, Expires: soon, Data: []byte("short")},
		Item{Priority: 1, Data: []byte("forever")},
		Item{Priority: 2, Expires: soon.Add(time.Hour), Data: []byte("long")}); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Second)
	got := fmt.Sprint(datas(drain(t, q, true)))
	if want := "[forever long]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if st := q.Stats(); st.DroppedExpired != 1 || st.Delivered != 2 {
		t.Errorf("got %d expired %d delivered, want 1 and 2", st.DroppedExpired, st.Delivered)
	}
}

func TestSizeBoundDropsExpiredThenOldest(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	dir := t.TempDir()
	q := open(t, dir, Options{MaxBytes: MinMaxBytes, Now: c.Now})
	body := bytes.Repeat([]byte("x"), 256)

	// 20 messages that expire, then enough lasting ones to overflow twice.
	for range 20 {
		if err := q.Push(Item{Priority: 9, Expires: c.Now().Add(time.Second), Data: body}); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(time.Minute)
	const n = 600
	for i := range n {
		d := append([]byte(fmt.Sprintf("%04d", i)), body...)
		if err := q.Push(Item{Priority: i % 3, Data: d}); err != nil {
			t.Fatal(err)
		}
		if st := q.Stats(); st.DiskBytes > MinMaxBytes {
			t.Fatalf("after push %d: got %d disk bytes, want at most %d", i, st.DiskBytes, MinMaxBytes)
		}
	}
	st := q.Stats()
	if st.DroppedExpired != 20 {
		t.Errorf("got %d dropped expired, want 20 (expired go first)", st.DroppedExpired)
	}
	if st.DroppedOverflow == 0 || int(st.DroppedOverflow)+st.Messages != n {
		t.Errorf("got %d dropped overflow + %d queued, want > 0 and sum %d", st.DroppedOverflow, st.Messages, n)
	}

	// What is left is the newest messages: a suffix in push order.
	es := drain(t, q, true)
	var idx []int
	for _, e := range es {
		var i int
		fmt.Sscanf(string(e.Data[:4]), "%d", &i)
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for k, i := range idx {
		if want := n - len(idx) + k; i != want {
			t.Fatalf("kept message %d at rank %d, want %d: drops must take the oldest", i, k, want)
		}
	}
	if got := len(segments(t, dir)); got > 1 {
		t.Errorf("got %d segment files after delivering all, want at most 1", got)
	}
}

func TestConcurrentPushIsDurable(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const workers, per = 16, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if err := q.Push(item(w%10, fmt.Sprintf("%d/%d", w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	q.Close()

	q = open(t, dir, Options{})
	seen := map[string]bool{}
	for _, e := range drain(t, q, true) {
		seen[string(e.Data)] = true
	}
	if len(seen) != workers*per {
		t.Errorf("got %d distinct messages after reopen, want %d", len(seen), workers*per)
	}
}

func TestPushRejects(t *testing.T) {
	q := open(t, t.TempDir(), Options{MaxBytes: MinMaxBytes})
	tests := []struct {
		name string
		it   Item
	}{
		{"priority too high", Item{Priority: 10}},
		{"priority negative", Item{Priority: -1}},
		{"larger than the bound", Item{Data: make([]byte, MinMaxBytes)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := q.Push(tt.it); err == nil {
				t.Error("got nil error, want one")
			}
		})
	}
}

// TestLostJournalBringsMessagesBack plays a power cut that loses the
// journal's unsynced tail: acknowledged messages come back (duplicates),
// and none that Push acknowledged is lost.
func TestLostJournalBringsMessagesBack(t *testing.T) {
	tests := []struct {
		name     string
		keep     func(size int64) int64 // journal bytes that survive
		wantTorn uint64
	}{
		{"journal lost", func(int64) int64 { return 0 }, 0},
		{"journal torn", func(size int64) int64 { return size - 2 }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				if err := q.Push(item(0, fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			for range 5 {
				e, _, _ := q.Next()
				q.Ack(e.Seq)
			}
			q.Close()
			jp := filepath.Join(dir, "journal.log")
			fi, err := os.Stat(jp)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(jp, tt.keep(fi.Size())); err != nil {
				t.Fatal(err)
			}

			q = open(t, dir, Options{})
			st := q.Stats()
			if st.Messages < 5 || st.Messages > 10 || st.TornRecords != tt.wantTorn {
				t.Errorf("got %d messages, %d torn; want 5..10 and %d", st.Messages, st.TornRecords, tt.wantTorn)
			}
			got := datas(drain(t, q, true))
			for i := 5; i < 10; i++ {
				if !slices.Contains(got, fmt.Sprint(i)) {
					t.Errorf("message %d lost; got %v", i, got)
				}
			}
		})
	}
}

func TestShrinkingTheBoundDropsAtOnce(t *testing.T) {
	q := open(t, t.TempDir(), Options{})
	body := bytes.Repeat([]byte("x"), 1000)
	for range 200 {
		if err := q.Push(Item{Data: body}); err != nil {
			t.Fatal(err)
		}
	}
	q.SetMaxBytes(MinMaxBytes)
	st := q.Stats()
	if st.DiskBytes > MinMaxBytes || st.DroppedOverflow == 0 || int(st.DroppedOverflow)+st.Messages != 200 {
		t.Errorf("got %d disk bytes, %d dropped, %d queued; want at most %d bytes and 200 in all",
			st.DiskBytes, st.DroppedOverflow, st.Messages, MinMaxBytes)
	}
}

func TestReject(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Push(item(0, "a"), item(0, "b"), item(0, "c")); err != nil {
		t.Fatal(err)
	}
	a, _, _ := q.Next()
	q.Reject(a.Seq, a.Seq+1) // one in flight, one waiting
	st := q.Stats()
	if st.Rejected != 2 || st.Messages != 1 || st.InFlight != 0 {
		t.Errorf("got %d rejected, %d queued, %d in flight; want 2, 1, 0", st.Rejected, st.Messages, st.InFlight)
	}
	q.Close()

	q = open(t, dir, Options{})
	if got := fmt.Sprint(datas(drain(t, q, true))); got != "[c]" {
		t.Errorf("got %s after reopen, want [c]", got)
	}
}
