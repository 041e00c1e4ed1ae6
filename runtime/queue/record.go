package queue

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// On-disk format. Every file starts with an 8-byte magic. After it come
// records, each framed as
//
//	u32 length of body (little endian)
//	u32 CRC-32C of body
//	body
//
// A segment record body is
//
//	u8  kind (kindMessage)
//	u64 sequence number
//	u8  priority
//	i64 expiry, Unix nanoseconds
//	... the caller's data
//
// A journal record body is
//
//	u8  kind (kindSent or kindDone)
//	uvarint number of runs
//	per run: uvarint gap from the end of the previous run (the first run's
//	gap is from 0), uvarint run length
//
// A run names the sequence numbers start .. start+length-1.
const (
	segmentMagic = "EPQSEG1\n"
	journalMagic = "EPQJNL1\n"

	frameBytes   = 8
	msgHeadBytes = 1 + 8 + 1 + 8

	// MaxRecordBytes bounds one record; a longer length field read from
	// disk is taken for a torn or corrupt record.
	MaxRecordBytes = 16 << 20

	kindMessage = 1
	kindSent    = 2
	kindDone    = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errCorrupt = errors.New("corrupt record")

// appendFrame appends body framed with its length and checksum.
func appendFrame(dst, body []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(body, castagnoli))
	return append(dst, body...)
}

// appendMessage appends a framed message record.
func appendMessage(dst []byte, seq uint64, prio uint8, expires int64, data []byte) []byte {
	n := msgHeadBytes + len(data)
	start := len(dst)
	dst = append(dst, make([]byte, frameBytes)...)
	dst = append(dst, kindMessage)
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	dst = append(dst, prio)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(expires))
	dst = append(dst, data...)
	body := dst[start+frameBytes:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(n))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, castagnoli))
	return dst
}

// parseFrame checks the frame at the start of b and returns its body and
// the number of bytes it occupies. It returns errCorrupt for a frame that
// is short, too long or fails its checksum.
func parseFrame(b []byte) (body []byte, n int, err error) {
	if len(b) < frameBytes {
		return nil, 0, errCorrupt
	}
	l := binary.LittleEndian.Uint32(b)
	if l == 0 || l > MaxRecordBytes || uint64(len(b)-frameBytes) < uint64(l) {
		return nil, 0, errCorrupt
	}
	body = b[frameBytes : frameBytes+int(l)]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, errCorrupt
	}
	return body, frameBytes + int(l), nil
}

// run is a range of sequence numbers in the journal.
type run struct{ start, n uint64 }

// appendRuns appends a framed journal record of kind for runs, which must
// be sorted and disjoint.
func appendRuns(dst []byte, kind byte, runs []run) []byte {
	body := []byte{kind}
	body = binary.AppendUvarint(body, uint64(len(runs)))
	var prev uint64
	for _, r := range runs {
		body = binary.AppendUvarint(body, r.start-prev)
		body = binary.AppendUvarint(body, r.n)
		prev = r.start + r.n
	}
	return appendFrame(dst, body)
}

// parseRuns decodes a journal record body.
func parseRuns(body []byte) (kind byte, runs []run, err error) {
	if len(body) < 1 {
		return 0, nil, errCorrupt
	}
	kind, body = body[0], body[1:]
	count, k := binary.Uvarint(body)
	if k <= 0 || count > uint64(len(body)) {
		return 0, nil, errCorrupt
	}
	body = body[k:]
	var prev uint64
	for range count {
		gap, k1 := binary.Uvarint(body)
		if k1 <= 0 {
			return 0, nil, errCorrupt
		}
		n, k2 := binary.Uvarint(body[k1:])
		if k2 <= 0 {
			return 0, nil, errCorrupt
		}
		body = body[k1+k2:]
		runs = append(runs, run{prev + gap, n})
		prev += gap + n
	}
	return kind, runs, nil
}

// toRuns turns sorted sequence numbers into runs.
func toRuns(seqs []uint64) []run {
	var runs []run
	for _, s := range seqs {
		if l := len(runs); l > 0 && runs[l-1].start+runs[l-1].n == s {
			runs[l-1].n++
			continue
		}
		runs = append(runs, run{s, 1})
	}
	return runs
}
