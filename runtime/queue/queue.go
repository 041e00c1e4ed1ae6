// Package queue is a durable, bounded priority queue of opaque messages kept
// in one directory. It is the store of $upstream store-and-forward.
//
// Push returns only after the messages are written and fsync'd; concurrent
// Push calls share one write and one fsync (group commit). Next hands out
// the oldest message of the best priority (0 before 9, first in, first out
// within a priority); Ack removes it for good and Nack puts it back. A
// message also leaves the queue when it expires or when the size bound
// needs its room (see Push for the exact rule).
//
// Messages live in append-only segment files; acknowledgements live in a
// journal beside them. A segment file is deleted once none of its messages
// is left. Every record carries a length and a CRC-32C, so a record torn by
// a crash or a power cut is found and cut off when the queue is opened.
// The journal is written soon after each Ack but fsync'd only about once a
// second: a power cut can bring back messages that were already delivered
// (at-least-once), never lose one that Push acknowledged.
//
// The package knows nothing of MQTT; runtime/upstream delivers from it.
package queue

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Priorities are 0 (best) to MaxPriority.
const MaxPriority = 9

// DefaultMaxBytes is the size bound when Options.MaxBytes is zero.
const DefaultMaxBytes = 1 << 30

// MinMaxBytes is the smallest size bound accepted.
const MinMaxBytes = 64 << 10

// ErrFull is returned by Push when no message can be dropped to make room:
// every queued message is in flight or not yet on disk.
var ErrFull = errors.New("queue full")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("queue closed")

// Options tune a Queue. The zero value is usable.
type Options struct {
	// MaxBytes bounds the bytes of segment files on disk; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// Logger receives warnings about dropped messages and repaired files;
	// nil discards them.
	Logger *slog.Logger
	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time
}

// Item is a message to push.
type Item struct {
	Priority int       // 0 (best) .. MaxPriority
	Expires  time.Time // the message is dropped unsent after this instant
	Data     []byte
}

// Entry is a message handed out by Next.
type Entry struct {
	Seq      uint64
	Priority int
	Data     []byte
	// Redelivery is true when the message was handed out before, by this
	// process or an earlier one, without an Ack: the receiver may have it
	// already.
	Redelivery bool
}

// Stats are the queue's counters. Counters count since Open.
type Stats struct {
	Messages  int   // queued: waiting or in flight
	Bytes     int64 // on-disk bytes of the queued messages' records
	DiskBytes int64 // bytes of all segment files (what MaxBytes bounds)
	InFlight  int

	Delivered       uint64 // acknowledged with Ack
	DroppedExpired  uint64
	DroppedOverflow uint64
	// Rejected counts messages removed with Reject: the receiver would
	// never take them.
	Rejected uint64
	// Redelivered counts messages handed out again after an earlier
	// hand-out without Ack: possible duplicates at the receiver.
	Redelivered uint64
	// TornRecords counts damaged records cut off at Open.
	TornRecords uint64
}

const (
	statePending = iota
	stateInFlight
	stateDone
)

type segment struct {
	first uint64 // sequence number in the file name
	last  uint64 // last sequence number written
	path  string
	f     *os.File
	size  int64 // bytes including those of batches not flushed yet
	live  int   // messages not done, including those not flushed yet
	// unflushed counts batches for this segment not written yet; the file
	// must stay until they are.
	unflushed int
}

type entry struct {
	seq     uint64
	seg     *segment
	off     int64 // offset of the data in the segment
	n       int32 // data bytes
	rec     int32 // record bytes
	prio    uint8
	state   uint8
	sent    bool
	expires int64
}

// batch is what one group commit writes to one segment.
type batch struct {
	seg     *segment
	buf     []byte
	entries []*entry
	newFile bool // seg was created for this batch: sync the directory
	flushed bool
	err     error
}

// Queue is a durable priority queue in a directory. Its methods are safe
// for concurrent use.
type Queue struct {
	dir  string
	log  *slog.Logger
	now  func() time.Time
	lock *os.File // flock'ed for the life of the queue

	flushMu sync.Mutex // held by the one goroutine writing batches

	mu       sync.Mutex // guards everything below
	err      error      // sticky I/O error: the queue refuses Push
	closed   bool
	maxBytes int64
	segBytes int64
	nextSeq  uint64
	flushed  uint64     // every sequence number below is registered or done
	segs     []*segment // oldest first
	cur      *segment   // segment new records go to
	batches  []*batch   // not flushed yet, oldest first
	live     map[uint64]*entry
	pending  [MaxPriority + 1][]*entry // sorted by seq; may hold done entries
	inFlight int
	bytes    int64
	disk     int64
	minExp   int64 // no live entry expires before this
	stats    Stats

	journal      *os.File
	journalSize  int64
	journalDirty bool     // written since the last fsync
	jSent, jDone []uint64 // journal marks not written yet
	logged       Stats    // drop counters at the last warning

	ready chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

// Open opens the queue in dir, creating dir if needed, and repairs what a
// crash left: torn records at the end of files are cut off and counted in
// Stats.TornRecords. Only one Queue may have dir open at a time.
func Open(dir string, opt Options) (*Queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating queue directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening queue lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("locking queue directory %s (is another process using it?): %w", dir, err)
	}

	q := &Queue{
		dir:     dir,
		log:     opt.Logger,
		now:     opt.Now,
		lock:    lock,
		live:    make(map[uint64]*entry),
		minExp:  math.MaxInt64,
		nextSeq: 1,
		ready:   make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	if q.now == nil {
		q.now = time.Now
	}
	q.setMaxBytes(opt.MaxBytes)
	if err := q.load(); err != nil {
		q.closeFiles()
		return nil, err
	}

	go q.housekeep()
	return q, nil
}

func (q *Queue) setMaxBytes(n int64) {
	if n <= 0 {
		n = DefaultMaxBytes
	}
	n = max(n, MinMaxBytes)
	q.maxBytes = n
	// Segments of an eighth of the bound keep the waste of a half-dead
	// segment small, without a file per handful of messages.
	q.segBytes = min(max(n/8, 16<<10), 64<<20)
}

// SetMaxBytes changes the size bound (0 means DefaultMaxBytes, and values
// under MinMaxBytes are raised to it). A smaller bound drops messages at
// once by the rule of Push.
func (q *Queue) SetMaxBytes(n int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.setMaxBytes(n)
	q.makeRoom(0)
}

// load reads the segments and the journal and rebuilds the index.
func (q *Queue) load() error {
	names, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("reading queue directory: %w", err)
	}
	for _, d := range names {
		name := d.Name()
		if !strings.HasPrefix(name, "seg-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		first, err := strconv.ParseUint(name[4:len(name)-4], 10, 64)
		if err != nil {
			continue
		}
		q.segs = append(q.segs, &segment{first: first, path: filepath.Join(q.dir, name)})
	}
	sort.Slice(q.segs, func(i, j int) bool { return q.segs[i].first < q.segs[j].first })

	// Step 1: every message record of every segment.
	for _, s := range q.segs {
		if err := q.loadSegment(s); err != nil {
			return err
		}
	}

	// Step 2: the journal's sent and done marks.
	if err := q.loadJournal(); err != nil {
		return err
	}

	// Step 3: segments without a live message go; the rest get a handle.
	segs := q.segs[:0]
	for _, s := range q.segs {
		if s.live == 0 {
			os.Remove(s.path)
			continue
		}
		f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("opening queue segment: %w", err)
		}
		s.f = f
		q.disk += s.size
		segs = append(segs, s)
	}
	q.segs = segs

	// Step 4: the pending lists in sequence order.
	for _, e := range q.live {
		q.pending[e.prio] = append(q.pending[e.prio], e)
		q.bytes += int64(e.rec)
		q.minExp = min(q.minExp, e.expires)
	}
	for p := range q.pending {
		slices.SortFunc(q.pending[p], func(a, b *entry) int { return compareSeq(a.seq, b.seq) })
	}

	q.flushed = q.nextSeq

	// Step 5: a fresh journal holding only what the live segments need.
	if err := q.compactJournal(); err != nil {
		return err
	}
	return syncDir(q.dir)
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// loadSegment indexes the records of s and cuts off a damaged tail.
func (q *Queue) loadSegment(s *segment) error {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("reading queue segment: %w", err)
	}
	good := int64(0)
	if len(b) >= len(segmentMagic) && string(b[:len(segmentMagic)]) == segmentMagic {
		good = int64(len(segmentMagic))
		for int(good) < len(b) {
			body, n, err := parseFrame(b[good:])
			if err != nil || len(body) < msgHeadBytes || body[0] != kindMessage {
				break
			}
			e := &entry{
				seq:     leU64(body[1:]),
				seg:     s,
				off:     good + frameBytes + msgHeadBytes,
				n:       int32(len(body) - msgHeadBytes),
				rec:     int32(n),
				prio:    min(body[9], MaxPriority),
				expires: int64(leU64(body[10:])),
			}
			q.live[e.seq] = e
			s.live++
			s.last = e.seq
			q.nextSeq = max(q.nextSeq, e.seq+1)
			good += int64(n)
		}
	}
	s.size = good

	if good < int64(len(b)) {
		q.stats.TornRecords++
		q.log.Warn("upstream queue: cutting off a damaged record",
			"file", filepath.Base(s.path), "offset", good, "bytes", int64(len(b))-good)
		if good == 0 {
			return nil // not even a header: the file is dropped as empty
		}
		if err := os.Truncate(s.path, good); err != nil {
			return fmt.Errorf("truncating queue segment: %w", err)
		}
	}
	return nil
}

func leU64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func (q *Queue) journalPath() string { return filepath.Join(q.dir, "journal.log") }

// loadJournal applies the journal's marks to the index.
func (q *Queue) loadJournal() error {
	b, err := os.ReadFile(q.journalPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading queue journal: %w", err)
	}
	if len(b) < len(journalMagic) || string(b[:len(journalMagic)]) != journalMagic {
		if len(b) > 0 {
			q.stats.TornRecords++
		}
		return nil
	}
	off := len(journalMagic)
	for off < len(b) {
		body, n, err := parseFrame(b[off:])
		if err != nil {
			break
		}
		kind, runs, err := parseRuns(body)
		if err != nil {
			break
		}
		off += n
		for _, r := range runs {
			// A done mark also moves nextSeq: sequence numbers of deleted
			// segments must not come back while their marks may be read.
			q.nextSeq = max(q.nextSeq, r.start+r.n)
			for s := r.start; s < r.start+r.n; s++ {
				e := q.live[s]
				if e == nil {
					continue
				}
				switch kind {
				case kindSent:
					e.sent = true
				case kindDone:
					delete(q.live, s)
					e.seg.live--
				}
			}
		}
	}
	if off < len(b) {
		// The journal is rewritten below, so a torn tail needs no truncate.
		q.stats.TornRecords++
		q.log.Warn("upstream queue: cutting off a damaged journal record", "offset", off)
	}
	return nil
}

// compactJournal rewrites the journal with only the marks that the live
// segments need: done marks for their gone messages and sent marks for
// their live ones. It replaces the file atomically. Sequence numbers of
// deleted segments may be handed out again afterwards, which is safe
// because no mark names them any more. q.mu is held or the queue is not
// shared yet.
func (q *Queue) compactJournal() error {
	// Deleted segments must stay deleted before their marks go.
	if err := syncDir(q.dir); err != nil {
		return fmt.Errorf("syncing queue directory: %w", err)
	}
	var done, sent []uint64
	for _, s := range q.segs {
		// Records at or past q.flushed are being written: not done.
		for seq := s.first; seq <= s.last && seq < q.flushed; seq++ {
			e := q.live[seq]
			switch {
			case e == nil:
				done = append(done, seq)
			case e.sent:
				sent = append(sent, seq)
			}
		}
	}
	buf := []byte(journalMagic)
	if len(done) > 0 {
		buf = appendRuns(buf, kindDone, toRuns(done))
	}
	if len(sent) > 0 {
		buf = appendRuns(buf, kindSent, toRuns(sent))
	}
	// Marks not written yet are included above; they need no second write.
	q.jSent, q.jDone = q.jSent[:0], q.jDone[:0]

	tmp := q.journalPath() + ".tmp"
	if err := writeFileSync(tmp, buf); err != nil {
		return fmt.Errorf("writing queue journal: %w", err)
	}
	if err := os.Rename(tmp, q.journalPath()); err != nil {
		return fmt.Errorf("replacing queue journal: %w", err)
	}
	if q.journal != nil {
		q.journal.Close()
	}
	f, err := os.OpenFile(q.journalPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("opening queue journal: %w", err)
	}
	q.journal = f
	q.journalSize = int64(len(buf))
	q.journalDirty = true // the rename is made durable by the next dir sync
	return syncDir(q.dir)
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Push writes items to the queue and returns once they are on disk
// (fsync'd). It is safe to call from many goroutines: calls that arrive
// while a write is in progress are written together with one fsync.
//
// When the segment files would grow past the size bound, Push first drops
// every expired message, then the oldest waiting messages in enqueue
// order, whatever their priority, until the new items fit. A segment's
// bytes are freed only when its last message goes, so the bound is kept at
// segment granularity. Push returns ErrFull when only messages in flight
// or not yet on disk are left to drop, and an error for an item whose
// priority is out of range or whose record is larger than the bound.
func (q *Queue) Push(items ...Item) error {
	if len(items) == 0 {
		return nil
	}
	for i, it := range items {
		if it.Priority < 0 || it.Priority > MaxPriority {
			return fmt.Errorf("item %d: priority %d out of range 0..%d", i, it.Priority, MaxPriority)
		}
	}

	b, err := q.append(items)
	if err != nil {
		return err
	}
	return q.flush(b)
}

// append assigns sequence numbers and places items in the open batches.
// It returns the last batch touched: once it is flushed, all are.
func (q *Queue) append(items []Item) (*batch, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, ErrClosed
	}
	if q.err != nil {
		return nil, q.err
	}

	var last *batch
	for _, it := range items {
		recLen := int64(frameBytes + msgHeadBytes + len(it.Data))
		if recLen > MaxRecordBytes || recLen+int64(len(segmentMagic)) > q.maxBytes {
			return last, fmt.Errorf("message of %d bytes is larger than the queue allows", len(it.Data))
		}

		// Room first, then a segment with space for the record.
		if err := q.makeRoom(recLen); err != nil {
			return last, err
		}
		if q.cur == nil || q.cur.size+recLen > q.segBytes && q.cur.size > int64(len(segmentMagic)) {
			if err := q.rotate(); err != nil {
				return last, err
			}
			if err := q.makeRoom(recLen); err != nil { // the header counts too
				return last, err
			}
		}

		// Open or extend the batch of the current segment.
		if n := len(q.batches); n == 0 || q.batches[n-1].seg != q.cur {
			q.batches = append(q.batches, &batch{seg: q.cur})
			q.cur.unflushed++
		}
		b := q.batches[len(q.batches)-1]
		exp := it.Expires.UnixNano()
		if it.Expires.IsZero() {
			exp = 1<<63 - 1
		}
		e := &entry{
			seq:     q.nextSeq,
			seg:     q.cur,
			off:     q.cur.size + frameBytes + msgHeadBytes,
			n:       int32(len(it.Data)),
			rec:     int32(recLen),
			prio:    uint8(it.Priority),
			expires: exp,
		}
		q.nextSeq++
		b.buf = appendMessage(b.buf, e.seq, e.prio, e.expires, it.Data)
		b.entries = append(b.entries, e)
		q.cur.size += recLen
		q.cur.last = e.seq
		q.cur.live++
		q.disk += recLen
		last = b
	}
	if len(q.jDone) > 0 { // drops made room
		q.writeJournal(false)
	}
	return last, nil
}

// rotate starts a new segment file for new records. q.mu is held.
func (q *Queue) rotate() error {
	old := q.cur
	path := filepath.Join(q.dir, fmt.Sprintf("seg-%020d.log", q.nextSeq))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		q.err = fmt.Errorf("creating queue segment: %w", err)
		return q.err
	}
	s := &segment{first: q.nextSeq, last: q.nextSeq - 1, path: path, f: f}
	// The header goes out with the segment's first batch.
	q.segs = append(q.segs, s)
	q.cur = s
	q.batches = append(q.batches, &batch{seg: s, newFile: true, buf: []byte(segmentMagic)})
	s.unflushed++
	s.size = int64(len(segmentMagic))
	q.disk += s.size
	if old != nil {
		q.maybeDelete(old)
	}
	return nil
}

// flush writes every open batch up to and including b, unless another
// goroutine did it meanwhile, and returns b's outcome.
func (q *Queue) flush(b *batch) error {
	q.flushMu.Lock()
	defer q.flushMu.Unlock()
	if !b.flushed {
		q.flushBatches()
	}
	return b.err
}

// flushBatches writes and syncs every open batch and registers their
// entries. q.flushMu is held.
func (q *Queue) flushBatches() {
	q.mu.Lock()
	bs := q.batches
	q.batches = nil
	q.mu.Unlock()

	// One write per batch, one fsync per file, one for the directory when
	// a file was created.
	var err error
	var synced []*segment
	dirty := false
	for _, bt := range bs {
		if err == nil {
			_, err = bt.seg.f.Write(bt.buf)
		}
		if !slices.Contains(synced, bt.seg) {
			synced = append(synced, bt.seg)
		}
		dirty = dirty || bt.newFile
	}
	for _, s := range synced {
		if err == nil {
			err = syscall.Fdatasync(int(s.f.Fd()))
		}
	}
	if err == nil && dirty {
		err = syncDir(q.dir)
	}
	if err != nil {
		err = fmt.Errorf("writing queue segment: %w", err)
	}

	q.mu.Lock()
	for _, bt := range bs {
		bt.flushed, bt.err = true, err
		bt.seg.unflushed--
		if err != nil {
			continue
		}
		for _, e := range bt.entries {
			q.live[e.seq] = e
			q.pending[e.prio] = append(q.pending[e.prio], e)
			q.bytes += int64(e.rec)
			q.minExp = min(q.minExp, e.expires)
			q.flushed = e.seq + 1
		}
		q.maybeDelete(bt.seg)
	}
	if err != nil && q.err == nil {
		// The file may hold part of a batch now; a later write after it
		// could make a torn record look whole. Refuse writes from here on.
		q.err = err
	}
	q.mu.Unlock()
	q.signal()
}

func (q *Queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Ready returns a channel that receives after messages were added or put
// back. It is a hint: call Next until it reports none.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// Next hands out the oldest waiting message of the best priority and marks
// it in flight, dropping expired messages on the way. ok is false when no
// message waits. The caller must Ack or Nack it.
func (q *Queue) Next() (e Entry, ok bool, err error) {
	es, err := q.NextN(1)
	if err != nil || len(es) == 0 {
		return Entry{}, false, err
	}
	return es[0], true, nil
}

// NextN hands out up to n messages as Next does, best first, with one
// journal write for all of them.
func (q *Queue) NextN(n int) ([]Entry, error) {
	type pick struct {
		e        *entry
		redeliv  bool
		seg      *segment
		off, len int64
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, ErrClosed
	}
	now := q.now().UnixNano()
	var picks []pick
	for p := 0; p < len(q.pending) && len(picks) < n; {
		if len(q.pending[p]) == 0 {
			p++
			continue
		}
		c := q.pending[p][0]
		q.pending[p] = q.pending[p][1:]
		switch {
		case c.state != statePending:
			continue
		case c.expires <= now:
			q.remove(c)
			q.stats.DroppedExpired++
			continue
		}
		c.state = stateInFlight
		q.inFlight++
		redeliv := c.sent
		if c.sent {
			q.stats.Redelivered++
		} else {
			c.sent = true
			q.jSent = append(q.jSent, c.seq)
		}
		picks = append(picks, pick{c, redeliv, c.seg, c.off, int64(c.n)})
	}
	// The sent marks reach the file now, so that a crash of the process
	// (not of the machine) cannot hide a possible duplicate.
	q.writeJournal(false)
	q.mu.Unlock()

	// The segments stay while their entries are in flight: read unlocked.
	out := make([]Entry, 0, len(picks))
	for i, p := range picks {
		data := make([]byte, p.len)
		if m, err := p.seg.f.ReadAt(data, p.off); err != nil && !(errors.Is(err, io.EOF) && m == len(data)) {
			for _, r := range picks[i:] {
				q.Nack(r.e.seq)
			}
			return out, fmt.Errorf("reading queue segment: %w", err)
		}
		out = append(out, Entry{Seq: p.e.seq, Priority: int(p.e.prio), Data: data, Redelivery: p.redeliv})
	}
	return out, nil
}

// Ack removes delivered messages for good. Unknown numbers are ignored.
func (q *Queue) Ack(seqs ...uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range seqs {
		e := q.live[s]
		if e == nil || e.state != stateInFlight {
			continue
		}
		q.remove(e)
		q.stats.Delivered++
	}
	// Written now, synced within a second: after a crash of the process
	// these messages are not sent again.
	q.writeJournal(false)
}

// Reject removes messages for good, waiting or in flight, that can never
// be delivered, and counts them in Stats.Rejected.
func (q *Queue) Reject(seqs ...uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range seqs {
		e := q.live[s]
		if e == nil {
			continue
		}
		q.remove(e) // a waiting entry stays in its pending list, marked done
		q.stats.Rejected++
	}
	q.writeJournal(false)
}

// Nack puts messages in flight back at their place in the queue.
func (q *Queue) Nack(seqs ...uint64) {
	q.mu.Lock()
	for _, s := range seqs {
		e := q.live[s]
		if e == nil || e.state != stateInFlight {
			continue
		}
		e.state = statePending
		q.inFlight--
		q.minExp = min(q.minExp, e.expires)
		l := q.pending[e.prio]
		i, _ := slices.BinarySearchFunc(l, e.seq, func(x *entry, s uint64) int { return compareSeq(x.seq, s) })
		q.pending[e.prio] = slices.Insert(l, i, e)
	}
	q.mu.Unlock()
	q.signal()
}

// remove takes e out of the queue for good. q.mu is held.
func (q *Queue) remove(e *entry) {
	if e.state == stateInFlight {
		q.inFlight--
	}
	e.state = stateDone
	delete(q.live, e.seq)
	q.bytes -= int64(e.rec)
	q.jDone = append(q.jDone, e.seq)
	e.seg.live--
	q.maybeDelete(e.seg)
}

// maybeDelete deletes s when no message of it is left and nothing more
// will be written to it. q.mu is held.
func (q *Queue) maybeDelete(s *segment) {
	if s.live > 0 || s.unflushed > 0 || s == q.cur {
		return
	}
	i := slices.Index(q.segs, s)
	if i < 0 {
		return
	}
	q.segs = slices.Delete(q.segs, i, i+1)
	q.disk -= s.size
	s.f.Close()
	// A segment that comes back after a power cut is harmless: the journal
	// marks its messages done, or they are delivered again.
	if err := os.Remove(s.path); err != nil {
		q.log.Warn("upstream queue: removing segment", "file", filepath.Base(s.path), "err", err)
	}
}

// makeRoom drops messages until n more bytes fit under the bound. q.mu is
// held.
func (q *Queue) makeRoom(n int64) error {
	swept := false
	for q.disk+n > q.maxBytes {
		if !swept {
			swept = true
			if q.sweep(q.now().UnixNano()) > 0 {
				continue
			}
		}
		e := q.oldestPending()
		if e == nil {
			if q.cur != nil && q.cur.live == 0 {
				// Only dead records are left in the open segment.
				c := q.cur
				q.cur = nil
				q.maybeDelete(c)
				continue
			}
			return ErrFull
		}
		if e.seg == q.cur {
			// Its bytes are freed only once no record is added behind it.
			q.cur = nil
		}
		q.remove(e)
		q.stats.DroppedOverflow++
	}
	return nil
}

// oldestPending returns the waiting entry with the lowest sequence number,
// or nil. q.mu is held.
func (q *Queue) oldestPending() *entry {
	var best *entry
	for p := range q.pending {
		l := q.pending[p]
		for len(l) > 0 && l[0].state != statePending {
			l = l[1:]
		}
		q.pending[p] = l
		if len(l) > 0 && (best == nil || l[0].seq < best.seq) {
			best = l[0]
		}
	}
	return best
}

// sweep drops the waiting messages that expired by now and returns how
// many. q.mu is held.
func (q *Queue) sweep(now int64) int {
	if now < q.minExp {
		return 0
	}
	n := 0
	next := int64(1<<63 - 1)
	for _, e := range q.live {
		switch {
		case e.state == statePending && e.expires <= now:
			q.remove(e)
			q.stats.DroppedExpired++
			n++
		case e.state == statePending:
			next = min(next, e.expires)
		}
	}
	q.minExp = next
	return n
}

// Stats returns the current counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.Messages = len(q.live)
	s.Bytes = q.bytes
	s.DiskBytes = q.disk
	s.InFlight = q.inFlight
	return s
}

// Err returns the I/O error that stopped the queue from accepting
// messages, or nil.
func (q *Queue) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// housekeep writes journal marks, syncs the journal, sweeps expired
// messages and logs drops, until Close.
func (q *Queue) housekeep() {
	defer close(q.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case <-q.stop:
			return
		case <-tick.C:
		}
		q.mu.Lock()
		q.writeJournal(i%10 == 0)
		if i%10 == 0 {
			q.sweep(q.now().UnixNano())
			q.logDrops()
		}
		q.mu.Unlock()
	}
}

// writeJournal appends the pending marks to the journal, compacting it when
// it grew large, and fsyncs it when sync is set. q.mu is held.
func (q *Queue) writeJournal(sync bool) {
	if q.journal == nil {
		return
	}
	if len(q.jSent)+len(q.jDone) > 0 {
		var buf []byte
		for _, m := range []struct {
			kind byte
			seqs []uint64
		}{{kindSent, q.jSent}, {kindDone, q.jDone}} {
			if len(m.seqs) == 0 {
				continue
			}
			slices.Sort(m.seqs)
			buf = appendRuns(buf, m.kind, toRuns(m.seqs))
		}
		q.jSent, q.jDone = q.jSent[:0], q.jDone[:0]
		if _, err := q.journal.Write(buf); err != nil {
			q.log.Warn("upstream queue: writing journal", "err", err)
		}
		q.journalSize += int64(len(buf))
		q.journalDirty = true
	}
	if q.journalSize > 8<<20 && q.journalSize > q.disk/4 {
		if err := q.compactJournal(); err != nil {
			q.log.Warn("upstream queue: compacting journal", "err", err)
		}
	}
	if sync && q.journalDirty {
		q.journalDirty = false
		if err := q.journal.Sync(); err != nil {
			q.log.Warn("upstream queue: syncing journal", "err", err)
		}
	}
}

// logDrops warns about messages dropped since the last warning, with
// counts only. q.mu is held.
func (q *Queue) logDrops() {
	exp := q.stats.DroppedExpired - q.logged.DroppedExpired
	over := q.stats.DroppedOverflow - q.logged.DroppedOverflow
	if exp == 0 && over == 0 {
		return
	}
	q.logged = q.stats
	q.log.Warn("upstream messages dropped",
		"expired", exp, "overflow", over,
		"expired_total", q.stats.DroppedExpired, "overflow_total", q.stats.DroppedOverflow,
		"queued", len(q.live), "disk_bytes", q.disk, "max_bytes", q.maxBytes)
}

// Close writes and syncs the journal and closes the files. Messages in
// flight stay queued for the next Open.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	close(q.stop)
	<-q.done

	q.flushMu.Lock() // wait for a group commit in progress
	defer q.flushMu.Unlock()
	q.flushBatches() // of Push calls that have not flushed yet
	q.mu.Lock()
	defer q.mu.Unlock()
	q.writeJournal(true)
	q.logDrops()
	q.closeFiles()
	return nil
}

func (q *Queue) closeFiles() {
	for _, s := range q.segs {
		if s.f != nil {
			s.f.Close()
		}
	}
	if q.journal != nil {
		q.journal.Close()
	}
	q.lock.Close() // releases the flock
}
