package frames

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want from what the decoder reads")

// TestConcentratorRecording reads the recorded stream and compares what
// comes out, errors included, with testdata/concentrator.want.
func TestConcentratorRecording(t *testing.T) {
	r := newRun(concentrator(t))
	r.feed(t, readHexFile(t, "testdata/concentrator.hex"))
	got := append(r.lines(), prefix("error ", r.errors)...)
	const path = "testdata/concentrator.want"
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if d := diff(got, want); d != "" {
		t.Errorf("recording read differently (go test -update rewrites the file):\n%s", d)
	}
}

func prefix(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// TestSplitAnywhere feeds the recording cut in two at every offset, byte
// by byte, and in odd chunk sizes: the output and the errors must not
// depend on how reads cut the stream.
func TestSplitAnywhere(t *testing.T) {
	for _, cfg := range testConfigs(t) {
		t.Run(cfg.name, func(t *testing.T) {
			data := readHexFile(t, "testdata/concentrator.hex")
			whole := newRun(cfg.c)
			whole.feed(t, data)
			check := func(t *testing.T, r *run, how string) {
				t.Helper()
				if d := diff(r.lines(), whole.lines()); d != "" {
					t.Fatalf("%s: output differs from the whole stream's:\n%s", how, d)
				}
				if d := diff(r.errors, whole.errors); d != "" {
					t.Fatalf("%s: errors differ from the whole stream's:\n%s", how, d)
				}
			}
			for k := 0; k <= len(data); k++ {
				r := newRun(cfg.c)
				r.feed(t, data[:k])
				r.feed(t, data[k:])
				check(t, r, "cut at "+strconv.Itoa(k))
			}
			for _, sizes := range [][]int{{1}, {2}, {3}, {7, 1, 13}, {11}, {12}, {13}, {255, 1}} {
				r := newRun(cfg.c)
				r.feed(t, data, sizes...)
				check(t, r, fmt.Sprint("chunks ", sizes))
			}
		})
	}
}

type namedConfig struct {
	name string
	c    Config
}

// testConfigs are the concentrator's config and its framing variants:
// end marker only after a start (no length), and no start marker at all.
func testConfigs(tb testing.TB) []namedConfig {
	full := concentrator(tb)
	noLength := full
	noLength.Length = nil
	noStart := full
	noStart.Start = nil
	noStartNoLength := noStart
	noStartNoLength.Length = nil
	lengthOnly := full
	lengthOnly.End = nil
	lengthOnly.Check = &Check{Type: CheckSum8, From: 2, At: -3}
	return []namedConfig{{"start+length+end", full}, {"start+end", noLength},
		{"length+end", noStart}, {"end", noStartNoLength}, {"start+length", lengthOnly}}
}

// TestMalformed gives each error kind with its exact count, and checks
// that the good frames around bad input are all read.
func TestMalformed(t *testing.T) {
	good1 := frame(1, 0, 5, 98)
	good2 := frame(2, 1, 200, 90)
	bin := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	noise := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	base := concentrator(t)
	noLength := base
	noLength.Length = nil
	noStart := base
	noStart.Start = nil
	tests := []struct {
		name   string
		c      Config
		in     []byte
		frames int // good frames read
		want   map[string]int
	}{
		{"clean", base, bin(good1, good2), 2, map[string]int{}},
		{"noise between", base, bin(good1, noise(5, 0x13), good2), 2, map[string]int{ErrNoise: 1}},
		{"noise before the first", base, bin(noise(3, 0xFF), good1), 1, map[string]int{ErrNoise: 1}},
		{"trailing noise waits for the next frame", base, bin(good1, noise(3, 0xFF)), 1, map[string]int{}},
		{"a noise run counts per max_frame bytes", base, bin(good1, noise(600, 0x13), good2), 2, map[string]int{ErrNoise: 3}},
		{"half a start marker in noise", base, bin(good1, []byte{0xAA, 0x13, 0x55, 0xAA}, good2), 2, map[string]int{ErrNoise: 1}},
		{"length under the fields", base, bin(good1, []byte{0xAA, 0x55, 0x00}, good2), 2, map[string]int{ErrBadLength: 1}},
		{"length over max_frame", base, bin(good1, []byte{0xAA, 0x55, 0xFF, 0x01}, good2), 2, map[string]int{ErrBadLength: 1, ErrNoise: 1}},
		{"end marker missing", base, bin(good1, good2[:10], []byte{0x0D, 0x0B}, good2), 2, map[string]int{ErrBadEnd: 1}},
		{"checksum", base, bin(good1, good2[:9], []byte{good2[9] ^ 0x10}, good2[10:], good2), 2, map[string]int{ErrChecksum: 1}},
		{"a lying length hides two good frames", base, bin([]byte{0xAA, 0x55, 0x20, 0x00}, good1, good2, noise(14, 0x00)), 2, map[string]int{ErrBadEnd: 1}},
		{"a truncated frame glued to the next", base, bin(good1[:6], good2, good1), 2, map[string]int{ErrBadEnd: 1}},
		{"no end: truncated frame glued to the next", noLength, bin(good1[:6], good2, good1), 2, map[string]int{ErrChecksum: 1}},
		{"no end marker within max_frame", noLength, bin(good1[:5], noise(300, 0x13), good2), 1, map[string]int{ErrOverlong: 1, ErrNoise: 1}},
		{"no start: a noise line", noStart, bin(good1, []byte{0x13, 0x13, 0x01, 0x0D, 0x0A}, good2), 2, map[string]int{ErrBadLength: 1, ErrNoise: 1}},
		{"no start: bad end resyncs after the next end", noStart, bin(good1, good2[:10], []byte{0x0D, 0x0B, 0x0D, 0x0A}, good2), 2, map[string]int{ErrBadEnd: 1, ErrNoise: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(tt.c)
			r.feed(t, tt.in)
			if got := len(r.b.Readings) / 2; got != tt.frames {
				t.Errorf("read %d frames, want %d:\n%s", got, tt.frames, strings.Join(r.lines(), "\n"))
			}
			if got := r.counts(); !mapsEqual(got, tt.want) {
				t.Errorf("errors %v, want %v:\n%s", got, tt.want, strings.Join(r.errors, "\n"))
			}
			for _, e := range r.errors {
				if kind, _, _ := strings.Cut(e, " "); !slices.Contains(ErrorKinds, kind) {
					t.Errorf("reported %q, which is not in ErrorKinds", kind)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestNoiseLosesNoFrame puts random noise between good frames. Noise
// without start markers must cost nothing but noise counts. Noise full of
// stray markers must cost no good frame either, but for one thing no
// framer can avoid: noise that happens to form a frame the check accepts
// (1 in 256 for sum8) and that takes in a good frame's bytes. So each
// frame lost must come with a frame that is not one of the good ones.
func TestNoiseLosesNoFrame(t *testing.T) {
	for _, stray := range []bool{false, true} {
		for _, cfg := range testConfigs(t) {
			if len(cfg.c.Start) == 0 && stray {
				continue // without a start marker, noise takes the next frame with it
			}
			name := cfg.name
			if stray {
				name += "/stray markers"
			}
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, 2))
				var in []byte
				var want []string
				runs := 0
				for i := range 500 {
					f := frame(uint16(rng.IntN(20)), byte(rng.IntN(8)), uint16(rng.IntN(1000)), byte(rng.IntN(101)))
					one := newRun(cfg.c)
					one.feed(t, f)
					want = append(want, perFrame(one, cfg.c)...)
					in = append(in, f...)
					if len(cfg.c.Start) == 0 {
						continue // frames must follow each other
					}
					n := rng.IntN(40)
					if n > 0 && i < 499 {
						runs++
					}
					for range n {
						b := byte(rng.IntN(256))
						switch {
						case stray && rng.IntN(4) == 0:
							in = append(in, 0xAA, 0x55)
							continue
						case stray && rng.IntN(4) == 0:
							b = 0xAA
						case b == 0xAA, b == 0x0D:
							b = 0x13 // no marker of either kind
						}
						in = append(in, b)
					}
				}
				// A stray marker's length may claim bytes past the last
				// frame: the frames behind it wait for them.
				if stray {
					in = append(in, bytes.Repeat([]byte{0x13}, cfg.c.MaxFrame)...)
				}
				for _, sizes := range [][]int{nil, {1}, {5, 17, 64}} {
					r := newRun(cfg.c)
					r.feed(t, in, sizes...)
					got := perFrame(r, cfg.c)
					if !stray {
						if d := diff(got, want); d != "" {
							t.Fatalf("chunks %v: frames differ:\n%s", sizes, d)
						}
						if c, w := r.counts(), map[string]int{ErrNoise: runs}; !mapsEqual(c, w) && !(runs == 0 && len(c) == 0) {
							t.Fatalf("chunks %v: errors %v, want %v", sizes, c, w)
						}
						continue
					}
					// Match the good frames in order; one missing from the
					// rest of the output is lost.
					matched, k, firstLost := 0, 0, -1
					for i, w := range want {
						at := slices.Index(got[k:], w)
						if at < 0 {
							if firstLost < 0 {
								firstLost = i
							}
							continue
						}
						matched++
						k += at + 1
					}
					// A frame made of noise ends at the first end marker, so
					// it takes in one good frame at most; without an end
					// marker, as many as its max_frame bytes can reach.
					perPhantom := 1
					if len(cfg.c.End) == 0 {
						perPhantom = cfg.c.MaxFrame/12 + 1
					}
					if lost, phantom := len(want)-matched, len(got)-matched; lost > phantom*perPhantom {
						t.Fatalf("chunks %v: %d good frames lost with only %d frames made of noise; first lost: %d (%s)",
							sizes, lost, phantom, firstLost, want[firstLost])
					} else if sizes == nil {
						t.Logf("%d frames made of noise passed the check, %d good frames lost to them", phantom, lost)
					}
				}
			})
		}
	}
}

// perFrame renders a run's output one frame a line: its readings and
// the events it raised (tracked per address, so a frame's events are
// not known alone; the line shows readings only).
func perFrame(r *run, c Config) []string {
	var out []string
	n := len(c.Points)
	for i := 0; i+n <= len(r.b.Readings); i += n {
		one := run{b: shouwang.Batch{Readings: r.b.Readings[i : i+n]}}
		out = append(out, strings.Join(one.lines(), ";"))
	}
	return out
}

// TestFlags checks the state tracking: every flag's state on the first
// frame of an address, then changes only.
func TestFlags(t *testing.T) {
	r := newRun(concentrator(t))
	r.feed(t, bytes.Join([][]byte{
		frame(7, 0b001, 0, 90), // first: smoke set, fault and battery clear
		frame(7, 0b001, 0, 90), // no change
		frame(8, 0b000, 0, 90), // another address: its own first report
		frame(7, 0b110, 0, 90), // smoke clears, fault and low battery set
		frame(7, 0b110, 0, 90),
	}, nil))
	want := []string{
		`event 7 smoke_alarm fire "bit 0 of byte 5 set"`,
		`event 7 fault_clear info "bit 1 of byte 5 clear"`,
		`event 7 low_battery_clear info "bit 2 of byte 5 clear"`,
		`event 8 smoke_clear info "bit 0 of byte 5 clear"`,
		`event 8 fault_clear info "bit 1 of byte 5 clear"`,
		`event 8 low_battery_clear info "bit 2 of byte 5 clear"`,
		`event 7 smoke_clear info "bit 0 of byte 5 clear"`,
		`event 7 fault fault "bit 1 of byte 5 set"`,
		`event 7 low_battery warning "bit 2 of byte 5 set"`,
	}
	got := slices.DeleteFunc(r.lines(), func(s string) bool { return strings.HasPrefix(s, "reading") })
	if d := diff(got, want); d != "" {
		t.Errorf("events:\n%s", d)
	}
}

// TestTooManyAddresses fills the address table: a new address past it
// gives readings, no events, and one error per frame.
func TestTooManyAddresses(t *testing.T) {
	r := newRun(concentrator(t))
	for a := range MaxAddresses + 2 {
		r.feed(t, frame(uint16(a), 0, 1, 50))
	}
	if got, want := len(r.b.Events), 3*MaxAddresses; got != want {
		t.Errorf("%d events, want %d: three for each tracked address", got, want)
	}
	if got := r.counts(); !mapsEqual(got, map[string]int{ErrTooManyAddresses: 2}) {
		t.Errorf("errors %v, want 2 too_many_addresses", got)
	}
	if got, want := len(r.b.Readings), 2*(MaxAddresses+2); got != want {
		t.Errorf("%d readings, want %d", got, want)
	}
	if got, want := r.b.Readings[len(r.b.Readings)-1].Device, strconv.Itoa(MaxAddresses+1); got != want {
		t.Errorf("last device %q, want %q (untracked addresses are still named)", got, want)
	}
}

// TestBounded feeds 10 MB that never completes a frame, in every framing:
// what the decoder holds stays under max_frame, the errors are counted,
// and a good frame after it is read.
func TestBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	garbage := make([]byte, 10<<20)
	for i := range garbage {
		garbage[i] = byte(rng.IntN(256))
		if garbage[i] == 0x0D {
			garbage[i] = 0x0E // no end marker: an end-delimited frame never ends
		}
	}
	starts := bytes.Repeat([]byte{0xAA, 0x55, 0x13}, (10<<20)/3) // a start marker every 3 bytes
	for _, cfg := range testConfigs(t) {
		for _, in := range []struct {
			name string
			data []byte
		}{{"random", garbage}, {"start markers", starts}} {
			t.Run(cfg.name+"/"+in.name, func(t *testing.T) {
				r := newRun(cfg.c)
				r.d.onError = func(string, []byte) {} // millions of them
				r.feed(t, in.data, 4096, 1, 300)
				r.feed(t, mustHex(t, "0D 0A"))
				r.errors = nil
				r.d.onError = newRun(cfg.c).d.onError
				// Without a start marker the first frame after garbage
				// is lost with it; with one, a good frame is read.
				r.feed(t, bytes.Join([][]byte{frame(1, 0, 1, 1), frame(2, 0, 1, 1)}, nil))
				if len(r.b.Readings) == 0 {
					t.Error("no frame read after the garbage")
				}
			})
		}
	}
}

// TestZeroAllocs checks the hot path: frames of known addresses whose
// flags do not change allocate nothing.
func TestZeroAllocs(t *testing.T) {
	r := newRun(concentrator(t))
	var stream []byte
	for a := range 50 {
		stream = append(stream, frame(uint16(a), 1, 120, 90)...)
	}
	r.feed(t, stream)
	allocs := testing.AllocsPerRun(100, func() {
		r.b.Readings, r.b.Events = r.b.Readings[:0], r.b.Events[:0]
		r.d.Feed(stream[:7], t0, &r.b)
		r.d.Feed(stream[7:], t0, &r.b)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run, want 0", allocs)
	}
	if len(r.b.Readings) != 100 {
		t.Errorf("%d readings, want 100", len(r.b.Readings))
	}
}

// TestChecks checks each check type against a known frame.
func TestChecks(t *testing.T) {
	// Modbus RTU read request 01 03 00 00 00 0A: CRC C5 CD (low first).
	crc := Config{MaxFrame: 64, Start: Hex{0x01, 0x03}, Length: &LengthField{Offset: 2, Size: 1, Adjust: 8},
		Check:  &Check{Type: CheckCRC16Modbus},
		Points: []Point{{Name: "count", Offset: 4, Size: 2}}}
	xor := Config{MaxFrame: 64, End: Hex{0x0A}, Check: &Check{Type: CheckXOR8, From: 0, To: -2, At: -2},
		Points: []Point{{Name: "t", Offset: 0, Size: 2, Order: OrderLittle, Signed: true, Scale: 0.1, Unit: "°C"}}}
	tests := []struct {
		name string
		c    Config
		in   string
		want []string
	}{
		{"crc16_modbus", crc, "01 03 00 00 00 0A C5 CD", []string{"reading panel count 10 "}},
		{"crc16_modbus wrong", crc, "01 03 00 00 00 0A CD C5", nil},
		{"xor8, signed little-endian, no start", xor, "F6 FF 09 0A", []string{"reading panel t -1 °C"}},
		{"xor8 wrong", xor, "F6 FF 08 0A", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if fe := tt.c.Validate(); len(fe) > 0 {
				t.Fatal(fe)
			}
			r := newRun(tt.c)
			r.feed(t, mustHex(t, tt.in))
			if d := diff(r.lines(), tt.want); d != "" {
				t.Errorf("%s (errors %v)", d, r.errors)
			}
		})
	}
}
