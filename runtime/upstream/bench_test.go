package upstream

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	bolt "go.etcd.io/bbolt"
)

// benchMessage is a typical reading: 256 bytes of body, a content type, a
// message id and one application property.
func benchMessage(i int) Message {
	return Message{
		Module: "sensor", Output: "temperature", ContentType: "application/json",
		MessageID: fmt.Sprintf("%08d", i), Properties: map[string]string{"alert": "false"},
		Body: bytes.Repeat([]byte("x"), 256), Priority: i % 3,
	}
}

// BenchmarkDrain measures how fast 100,000 queued messages drain to a real
// local Mosquitto once it is reachable, beside publishing the same
// messages on the same topics directly with paho at QoS 1, with the same
// number of publishes awaiting PUBACK, to the same broker.
func BenchmarkDrain(b *testing.B) {
	const n = 100_000
	br := startBroker(b)
	up := br.upstream()

	for b.Loop() {
		// Baseline: paho straight to the broker.
		b.StopTimer()
		msgs := make([]Message, n)
		topics := make([]string, n)
		for i := range msgs {
			msgs[i] = benchMessage(i)
			topics[i] = msgs[i].Topic(DefaultTopicPrefix, "gw1")
		}
		cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(strings.Replace(br.url(), "mqtt", "tcp", 1)).
			SetClientID("baseline").SetOrderMatters(false))
		if tok := cl.Connect(); tok.Wait() && tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		const window = 1000 // as Forwarder.window
		sem := make(chan struct{}, window)
		var wg sync.WaitGroup
		var failed atomic.Int64
		start := time.Now()
		for i := range n {
			sem <- struct{}{}
			wg.Add(1)
			tok := cl.Publish(topics[i], 1, false, msgs[i].Body)
			go func() {
				<-tok.Done()
				if tok.Error() != nil {
					failed.Add(1)
				}
				<-sem
				wg.Done()
			}()
		}
		wg.Wait()
		base := time.Since(start)
		cl.Disconnect(100)
		if failed.Load() > 0 {
			b.Fatalf("baseline: %d publishes failed", failed.Load())
		}

		// Ours: queue while no upstream is configured, then drain.
		f, err := New(b.TempDir(), "gw1", nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i += 1000 {
			if err := f.Enqueue(msgs[i : i+1000]...); err != nil {
				b.Fatal(err)
			}
		}
		st := f.Stats()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		b.StartTimer()
		start = time.Now()
		if err := f.Configure(up); err != nil {
			b.Fatal(err)
		}
		go func() { f.Run(ctx); close(done) }()
		for f.Stats().Delivered < n {
			time.Sleep(time.Millisecond)
		}
		ours := time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		f.Close()

		b.ReportMetric(n/ours.Seconds(), "drain-msg/s")
		b.ReportMetric(n/base.Seconds(), "paho-direct-msg/s")
		b.ReportMetric(base.Seconds()/ours.Seconds(), "ratio")
		b.ReportMetric(float64(st.DiskBytes)/n, "disk-B/msg")
		b.StartTimer()
	}
}

// BenchmarkEnqueue measures Enqueue from 32 concurrent producers, one
// message per call, with group commit, beside two baselines fed the same
// way: a plain log that appends and fsyncs each message under a mutex, and
// bbolt with db.Batch (its own group commit). Each reports messages per
// second; the disk figures are bytes of files per queued message.
func BenchmarkEnqueue(b *testing.B) {
	const producers, n = 32, 8000
	msgs := make([]Message, n)
	recs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = benchMessage(i)
		msgs[i].EnqueuedAt = time.Now()
		recs[i] = msgs[i].encode()
	}
	// feed runs put for every message index from producers goroutines.
	feed := func(put func(i int) error) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range producers {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					if err := put(i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}

	for b.Loop() {
		// Ours.
		dir := b.TempDir()
		f, err := New(dir, "gw1", nil)
		if err != nil {
			b.Fatal(err)
		}
		ours := feed(func(i int) error { return f.Enqueue(msgs[i]) })
		diskOurs := float64(f.Stats().DiskBytes) / n
		f.Close()

		// Baseline 1: append and fsync each message.
		lf, err := os.OpenFile(filepath.Join(b.TempDir(), "plain.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		plain := feed(func(i int) error {
			rec := binary.LittleEndian.AppendUint32(nil, uint32(len(recs[i])))
			rec = append(rec, recs[i]...)
			mu.Lock()
			defer mu.Unlock()
			if _, err := lf.Write(rec); err != nil {
				return err
			}
			return syscall.Fdatasync(int(lf.Fd()))
		})
		lf.Close()

		// Baseline 2: bbolt, one key per message, db.Batch.
		boltPath := filepath.Join(b.TempDir(), "q.db")
		db, err := bolt.Open(boltPath, 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		var seq atomic.Uint64
		bbolt := feed(func(i int) error {
			return db.Batch(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte{byte(msgs[i].Priority)})
				if err != nil {
					return err
				}
				return bk.Put(binary.BigEndian.AppendUint64(nil, seq.Add(1)), recs[i])
			})
		})
		db.Close()
		fi, err := os.Stat(boltPath)
		if err != nil {
			b.Fatal(err)
		}

		b.ReportMetric(n/ours.Seconds(), "group-commit-msg/s")
		b.ReportMetric(n/plain.Seconds(), "fsync-each-msg/s")
		b.ReportMetric(n/bbolt.Seconds(), "bbolt-batch-msg/s")
		b.ReportMetric(diskOurs, "disk-B/msg")
		b.ReportMetric(float64(fi.Size())/n, "bbolt-disk-B/msg")
	}
}
