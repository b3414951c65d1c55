package shouwang

import "testing"

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
		str  string
	}{
		{"4096", 4096, "4KiB"},
		{"512MiB", 512 << 20, "512MiB"},
		{"1GiB", 1 << 30, "1GiB"},
		{"1.5GB", 1_500_000_000, "1500000000B"},
		{"10 KB", 10_000, "10000B"},
		{"0", 0, "0B"},
	} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(tc.in)); err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if b != tc.want || b.String() != tc.str {
			t.Errorf("%q = %d (%s), want %d (%s)", tc.in, b, b, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1XB", "NaN", "1e30GiB", "abc"} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q: no error, got %d", bad, b)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	if s.String() != "[redacted]" || s.LogValue().String() != "[redacted]" {
		t.Fatal("secret printed")
	}
	if txt, _ := s.MarshalText(); string(txt) != "[redacted]" {
		t.Fatal("secret marshalled")
	}
	if s.Reveal() != "hunter2" {
		t.Fatal("Reveal lost the value")
	}
}

func TestSeverityNames(t *testing.T) {
	for i, n := range SeverityNames() {
		s, ok := ParseSeverity(n)
		if !ok || int(s) != i || s.String() != n {
			t.Errorf("%s: got %v %v", n, s, ok)
		}
	}
	if Fault == Fire || Fault.String() == Fire.String() {
		t.Fatal("a fault must never read as a fire")
	}
	if _, ok := ParseSeverity("critical"); ok {
		t.Fatal("unknown name accepted")
	}
}

func TestLocationString(t *testing.T) {
	l := Location{Community: "阳光花园", Building: "3号楼", Unit: "2单元", Floor: 12, Room: "1202"}
	if got := l.String(); got != "阳光花园/3号楼/2单元/12F/1202" {
		t.Fatal(got)
	}
}

// An event's measurement unit is not a place: a smoke alarm's "unit":
// "dB/m" leaves the device's unit (单元) as it is.
func TestRefineKeepsTheUnitOfMeasure(t *testing.T) {
	l := Location{Building: "5号楼", Unit: "1单元", Floor: 11}
	if got := l.Refine(map[string]string{"value": "0.2", "unit": "dB/m"}); got != l {
		t.Errorf("refined by a measurement unit: %+v", got)
	}
	want := Location{Building: "5号楼", Unit: "2单元", Floor: 12, Room: "1202"}
	if got := l.Refine(map[string]string{AttrUnit: "2单元", AttrFloor: "12", AttrRoom: "1202"}); got != want {
		t.Errorf("refined by a camera's window: %+v, want %+v", got, want)
	}
}
