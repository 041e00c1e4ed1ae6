package hub_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hub"
	"github.com/edgeplane/edgeplane/hub/api"
	"github.com/edgeplane/edgeplane/hub/client"
	"github.com/edgeplane/edgeplane/hub/store"
	"github.com/edgeplane/edgeplane/hub/store/postgres"
	"github.com/edgeplane/edgeplane/hub/store/sqlite"
	"github.com/edgeplane/edgeplane/internal/pgtest"
)

// fanOutDevices is how many devices wait in the long-poll benchmark.
const fanOutDevices = 5000

// figures collects the benchmark results so that TestMain can print them
// side by side at the end of the run.
var figures struct {
	sync.Mutex
	rows [][2]string
}

// addFigure records a figure; a later call with the same name (the
// benchmark's next, longer round) replaces the earlier one.
func addFigure(name, value string) {
	figures.Lock()
	defer figures.Unlock()
	for i := range figures.rows {
		if figures.rows[i][0] == name {
			figures.rows[i][1] = value
			return
		}
	}
	figures.rows = append(figures.rows, [2]string{name, value})
}

// printFigures prints the collected figures as one table.
func printFigures() {
	figures.Lock()
	defer figures.Unlock()
	if len(figures.rows) == 0 {
		return
	}
	fmt.Println("\nhub figures (same run; baselines first):")
	for _, r := range figures.rows {
		fmt.Printf("  %-66s %s\n", r[0], r[1])
	}
}

// benchStores are the stores each benchmark runs on.
var benchStores = []struct {
	name string
	open func(b *testing.B) store.Store
}{
	{"sqlite", func(b *testing.B) store.Store {
		st, err := sqlite.Open(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(b *testing.B) store.Store {
		st, err := postgres.Open(context.Background(), pgtest.Database(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
}

// benchHub serves st over real HTTP on a loopback port, without the
// OpenAPI checks of the tests.
func benchHub(b *testing.B, st store.Store) (*hub.Server, string) {
	srv, err := hub.New(hub.Config{Store: st, Tokens: []string{testToken}, LongPollMax: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ErrorLog = nil
	ts.Start()
	b.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return srv, ts.URL
}

// raiseFileLimit lifts RLIMIT_NOFILE: the fan-out holds two descriptors
// per waiting device (client and server side).
func raiseFileLimit(b *testing.B, need uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		lim.Max = need // needs CAP_SYS_RESOURCE
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatalf("raising the open file limit to %d: %v (run ulimit -n %d first)", need, err, need)
	}
}

func send(c *http.Client, method, url, auth, body string) (int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", auth)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // draining for reuse
	resp.Body.Close()
	return resp.StatusCode, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// BenchmarkBaseline measures what the hub figures are compared with: an
// HTTP round trip that touches no store, and a module write straight into
// each store without HTTP.
func BenchmarkBaseline(b *testing.B) {
	b.Run("http-noop", func(b *testing.B) {
		st, err := sqlite.Open(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		_, url := benchHub(b, st)
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if code, err := send(c, "GET", url+"/healthz", "", ""); err != nil || code != 200 {
					b.Errorf("healthz: %d %v", code, err)
					return
				}
			}
		})
		rate := float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(rate, "req/s")
		addFigure("baseline http GET /healthz", fmt.Sprintf("%.0f req/s", rate))
	})
	for _, bs := range benchStores {
		b.Run("store-put-module/"+bs.name, func(b *testing.B) {
			st := bs.open(b)
			ctx := context.Background()
			devices := make([]string, 16)
			for i := range devices {
				devices[i] = "gw-" + strconv.Itoa(i)
				if _, _, err := st.PutDevice(ctx, api.Device{ID: devices[i], Enabled: true}, store.Precondition{}); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					m := api.Module{Name: "m", Image: "img:" + strconv.FormatInt(i, 10)}
					if _, _, err := st.PutModule(ctx, devices[i%int64(len(devices))], m, store.Precondition{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			rate := float64(b.N) / time.Since(start).Seconds()
			b.ReportMetric(rate, "writes/s")
			addFigure("baseline store PutModule, no HTTP ("+bs.name+")", fmt.Sprintf("%.0f writes/s", rate))
		})
	}
}

// BenchmarkModulePut measures PUT /v1/devices/{d}/modules/{m} throughput
// over HTTP, four writers, each PUT a real change.
func BenchmarkModulePut(b *testing.B) {
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			st := bs.open(b)
			_, url := benchHub(b, st)
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			auth := "Bearer " + testToken
			const devices = 16
			for i := range devices {
				if code, err := send(c, "PUT", url+"/v1/devices/gw-"+strconv.Itoa(i), auth, `{}`); err != nil || code != 201 {
					b.Fatalf("creating device: %d %v", code, err)
				}
			}
			var n atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					path := fmt.Sprintf("%s/v1/devices/gw-%d/modules/m", url, i%devices)
					body := `{"image":"example/sensor:` + strconv.FormatInt(i, 10) + `"}`
					if code, err := send(c, "PUT", path, auth, body); err != nil || code >= 300 {
						b.Errorf("PUT module: %d %v", code, err)
						return
					}
				}
			})
			rate := float64(b.N) / time.Since(start).Seconds()
			b.ReportMetric(rate, "puts/s")
			addFigure("module PUT over HTTP ("+bs.name+")", fmt.Sprintf("%.0f puts/s", rate))
		})
	}
}

// listDevices is how many devices the device-list benchmark reads.
const listDevices = 500

// BenchmarkDeviceListStatus reads the statuses of 500 devices, half of
// which reported three modules, through the operator client: in one list
// request per page (include=status; five pages at the default 100) against
// the baseline of the list followed by one status request per device, as
// `edgeplane device list` used to.
func BenchmarkDeviceListStatus(b *testing.B) {
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			st := bs.open(b)
			seedListDevices(b, st)
			_, url := benchHub(b, st)
			c, err := client.New(client.Config{Endpoint: url, Token: testToken})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()

			var perDevice, bulk time.Duration
			b.Run("list+status-each", func(b *testing.B) {
				start := time.Now()
				for range b.N {
					devs, err := c.AllDevices(ctx, nil)
					if err != nil || len(devs) != listDevices {
						b.Fatalf("got %d devices (%v), want %d", len(devs), err, listDevices)
					}
					for _, d := range devs {
						if _, err := c.GetDeviceStatus(ctx, d.ID); err != nil {
							b.Fatal(err)
						}
					}
				}
				perDevice = time.Since(start) / time.Duration(b.N)
			})
			b.Run("list-include-status", func(b *testing.B) {
				start := time.Now()
				for range b.N {
					devs, err := c.AllDevicesWithStatus(ctx, nil)
					if err != nil || len(devs) != listDevices || devs[0].Status == nil {
						b.Fatalf("got %d devices (%v), want %d with statuses", len(devs), err, listDevices)
					}
				}
				bulk = time.Since(start) / time.Duration(b.N)
			})
			if perDevice == 0 || bulk == 0 {
				return // a sub-benchmark was filtered out
			}
			addFigure(fmt.Sprintf("baseline %d devices: list + a status GET each (%s)", listDevices, bs.name),
				ms(perDevice))
			addFigure(fmt.Sprintf("%d devices: list with include=status (%s)", listDevices, bs.name), ms(bulk))
			addFigure(fmt.Sprintf("%d devices: include=status speed-up (%s)", listDevices, bs.name),
				fmt.Sprintf("%.1fx", float64(perDevice)/float64(bulk)))
		})
	}
}

// seedListDevices writes the device-list benchmark's devices straight into
// the store; every other one reports an agent and three modules.
func seedListDevices(b *testing.B, st store.Store) {
	ctx := context.Background()
	applied := int64(1)
	for i := range listDevices {
		id := fmt.Sprintf("gw-%04d", i)
		if _, _, err := st.PutDevice(ctx, api.Device{ID: id, Enabled: true,
			Tags: map[string]string{"site": "s" + strconv.Itoa(i%10)}}, store.Precondition{}); err != nil {
			b.Fatal(err)
		}
		if i%2 != 0 {
			continue
		}
		mods := map[string]*api.ModuleStatus{}
		for _, m := range []string{"filter", "sensor", "uplink"} {
			mods[m] = &api.ModuleStatus{Status: api.RuntimeRunning, Image: "registry.example/" + m + ":1.2",
				LastStart: time.Now().UTC()}
		}
		if err := st.ApplyReported(ctx, id, api.ReportedPatch{AppliedVersion: &applied, Modules: mods,
			Agent: &api.AgentInfo{Version: "v1.2.0", StartedAt: time.Now().UTC(), Hostname: id}}); err != nil {
			b.Fatal(err)
		}
		if err := st.Touch(ctx, id, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// tagDevices is the fleet of BenchmarkDeviceListTag; one device in
// tagEvery carries the tag it looks for.
const (
	tagDevices = 5000
	tagEvery   = 100
)

// BenchmarkDeviceListTag lists the devices that carry a rare tag (50 of
// 5,000) from the store: with the filter in the database, and, as the
// baseline, as the hub did before: every device read in id-ordered pages
// and filtered in Go.
func BenchmarkDeviceListTag(b *testing.B) {
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			st := bs.open(b)
			ctx := context.Background()
			for i := range tagDevices {
				tags := map[string]string{"site": "s" + strconv.Itoa(i%10)}
				if i%tagEvery == 0 {
					tags["tier"] = "rare"
				}
				if _, _, err := st.PutDevice(ctx, api.Device{ID: fmt.Sprintf("gw-%05d", i), Tags: tags},
					store.Precondition{}); err != nil {
					b.Fatal(err)
				}
			}
			want := map[string]string{"tier": "rare"}
			const found = tagDevices / tagEvery

			var inGo, inDB time.Duration
			b.Run("read-all-filter-in-go", func(b *testing.B) {
				start := time.Now()
				for range b.N {
					n, after := 0, ""
					for {
						page, err := st.ListDevices(ctx, store.DeviceQuery{Limit: 100, After: after})
						if err != nil {
							b.Fatal(err)
						}
						for _, d := range page {
							if d.Tags["tier"] == "rare" {
								n++
							}
						}
						if len(page) < 100 {
							break
						}
						after = page[len(page)-1].ID
					}
					if n != found {
						b.Fatalf("found %d, want %d", n, found)
					}
				}
				inGo = time.Since(start) / time.Duration(b.N)
			})
			b.Run("filter-in-database", func(b *testing.B) {
				start := time.Now()
				for range b.N {
					page, err := st.ListDevices(ctx, store.DeviceQuery{Limit: 1000, Tags: want})
					if err != nil || len(page) != found {
						b.Fatalf("found %d (%v), want %d", len(page), err, found)
					}
				}
				inDB = time.Since(start) / time.Duration(b.N)
			})
			if inGo == 0 || inDB == 0 {
				return // a sub-benchmark was filtered out
			}
			addFigure(fmt.Sprintf("baseline: %d of %d devices by tag, all read and filtered in Go (%s)",
				found, tagDevices, bs.name), ms(inGo))
			addFigure(fmt.Sprintf("%d of %d devices by tag, filtered in the database (%s)",
				found, tagDevices, bs.name), ms(inDB))
			addFigure(fmt.Sprintf("tag filter speed-up (%s)", bs.name),
				fmt.Sprintf("%.1fx", float64(inGo)/float64(inDB)))
		})
	}
}

// BenchmarkLongPollFanOut has 5,000 devices long-polling, changes each
// device's desired state (a module PUT each, eight operator writers), and
// measures from the start of each device's PUT until that device has its
// new document.
func BenchmarkLongPollFanOut(b *testing.B) {
	raiseFileLimit(b, 2*fanOutDevices+1024)
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			for range b.N {
				fanOut(b, bs.name, bs.open(b))
			}
		})
	}
}

func fanOut(b *testing.B, name string, st store.Store) {
	ctx := context.Background()
	srv, url := benchHub(b, st)

	// Devices, created straight in the store.
	tokens := make([]string, fanOutDevices)
	for i := range tokens {
		d, _, err := st.PutDevice(ctx, api.Device{ID: "gw-" + strconv.Itoa(i), Enabled: true}, store.Precondition{})
		if err != nil {
			b.Fatal(err)
		}
		key, _ := api.DecodeKey(d.Key)
		tokens[i] = "Device " + api.SignDeviceToken(d.ID, key, time.Now().Add(time.Hour))
	}
	version, err := st.DesiredVersion(ctx, "gw-0")
	if err != nil {
		b.Fatal(err)
	}

	// Every device long-polls on its own connection. Start them in
	// batches so that the listen backlog does not overflow.
	devTransport := &http.Transport{MaxIdleConnsPerHost: fanOutDevices, MaxIdleConns: 2 * fanOutDevices}
	defer devTransport.CloseIdleConnections()
	dc := &http.Client{Transport: devTransport}
	recv := make([]time.Time, fanOutDevices)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range fanOutDevices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fmt.Sprintf("%s/v1/device/desired?after=%d&wait=5m", url, version)
			code, err := send(dc, "GET", u, tokens[i], "")
			recv[i] = time.Now()
			if err != nil || code != http.StatusOK {
				failed.Add(1)
			}
		}()
		if (i+1)%500 == 0 {
			waitWaitingB(b, srv, i+1)
		}
	}
	waitWaitingB(b, srv, fanOutDevices)

	// Change every device, eight writers at a time.
	oc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	sent := make([]time.Time, fanOutDevices)
	done := make([]time.Time, fanOutDevices)
	next := atomic.Int64{}
	var wwg sync.WaitGroup
	begin := time.Now()
	for range 8 {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= fanOutDevices {
					return
				}
				sent[i] = time.Now()
				code, err := send(oc, "PUT", fmt.Sprintf("%s/v1/devices/gw-%d/modules/m", url, i),
					"Bearer "+testToken, `{"image":"example/sensor:2"}`)
				done[i] = time.Now()
				if err != nil || code != http.StatusCreated {
					b.Errorf("PUT module: %d %v", code, err)
				}
			}
		}()
	}
	wwg.Wait()
	wg.Wait()
	all := time.Since(begin)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d long-polls failed", n, fanOutDevices)
	}

	// The PUT's own round trip is the baseline: delivery cannot be
	// faster than the write it delivers.
	lat := make([]time.Duration, fanOutDevices)
	put := make([]time.Duration, fanOutDevices)
	for i := range lat {
		lat[i] = recv[i].Sub(sent[i])
		put[i] = done[i].Sub(sent[i])
	}
	addFigure(fmt.Sprintf("baseline operator PUT round trip during fan-out (%s) p50/p99", name),
		ms(percentile(put, 0.50))+" / "+ms(percentile(put, 0.99)))
	p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
	b.ReportMetric(float64(p50)/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(all.Seconds(), "all-s")
	addFigure(fmt.Sprintf("long-poll fan-out %d devices (%s) p50", fanOutDevices, name), ms(p50))
	addFigure(fmt.Sprintf("long-poll fan-out %d devices (%s) p99", fanOutDevices, name), ms(p99))
	addFigure(fmt.Sprintf("long-poll fan-out %d devices (%s) all changed+delivered", fanOutDevices, name),
		fmt.Sprintf("%.2f s", all.Seconds()))
}

func waitWaitingB(b *testing.B, srv *hub.Server, n int) {
	for range 6000 {
		if srv.Waiting() >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("got %d waiting long-polls, want %d", srv.Waiting(), n)
}
