package frames

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestHex(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
		err  string // a part of the error, "" for none
	}{
		{"AA55", []byte{0xAA, 0x55}, ""},
		{"aa55", []byte{0xAA, 0x55}, ""},
		{"aa 55", []byte{0xAA, 0x55}, ""},
		{" 0D0A ", []byte{0x0D, 0x0A}, ""},
		{"0xAA55", []byte{0xAA, 0x55}, ""},
		{"0xAA 0x55", []byte{0xAA, 0x55}, ""},
		{"7E", []byte{0x7E}, ""},
		{"", nil, ""},
		{"A55", nil, `"A55" has an odd number of hex digits`},
		{"AA 5", nil, `"5" has an odd number`},
		{"AG55", nil, `'G' is not a hex digit`},
		{"0x", nil, `'x' is not a hex digit`},
		{"AA,55", nil, `',' is not a hex digit`},
	}
	for _, tt := range tests {
		var h Hex
		err := h.UnmarshalText([]byte(tt.in))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want one with %q", tt.in, err, tt.err)
		case tt.err == "" && !bytes.Equal(h, tt.want):
			t.Errorf("%q: % X, want % X", tt.in, []byte(h), tt.want)
		}
	}
	if got, _ := (Hex{0x0d, 0x0a}).MarshalText(); string(got) != "0D0A" {
		t.Errorf("MarshalText: %s, want 0D0A", got)
	}
}

// TestValidate breaks the concentrator's config one way at a time and
// checks which fields are named, and what the message says.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		fields []string
		says   string // a part of the first message
	}{
		{"valid", func(c *Config) {}, nil, ""},
		{"nothing ends a frame", func(c *Config) { c.End, c.Length = nil, nil }, []string{"end"}, "nothing would say where a frame ends"},
		{"nothing starts a frame", func(c *Config) { c.Start, c.End = nil, nil }, []string{"start"}, "nothing would say where a frame begins"},
		{"length only needs start", func(c *Config) { c.End = nil }, nil, ""},
		{"end only", func(c *Config) { c.Start, c.Length = nil, nil }, nil, ""},
		{"max_frame small", func(c *Config) { c.MaxFrame = 3 }, []string{"max_frame"}, "valid: 4 to 4096"},
		{"max_frame large", func(c *Config) { c.MaxFrame = 5000 }, []string{"max_frame"}, "out of range"},
		{"max_frame under the fields", func(c *Config) { c.MaxFrame = 10 }, []string{"max_frame"}, "shorter than the 11 bytes"},
		{"long marker", func(c *Config) { c.End = make(Hex, 17) }, []string{"end"}, "up to 16"},
		{"length size", func(c *Config) { c.Length.Size = 4 }, []string{"length.size"}, "valid: 1, 2"},
		{"length order", func(c *Config) { c.Length.Order = "middle" }, []string{"length.order"}, "valid: big, little"},
		{"length in the start marker", func(c *Config) { c.Length.Offset = 1 }, []string{"length.offset"}, "inside the start marker"},
		{"check type", func(c *Config) { c.Check.Type = "crc32" }, []string{"check.type"}, "valid: sum8, xor8, crc16_modbus"},
		{"check from", func(c *Config) { c.Check.From = -1 }, []string{"check.from"}, "out of range"},
		{"check at no room", func(c *Config) { c.Check.Type, c.Check.At = CheckCRC16Modbus, -1 }, []string{"check.at"}, "no room for the 2"},
		{"check at beyond", func(c *Config) { c.Check.At = 300 }, []string{"check.at"}, "beyond max_frame"},
		{"check to before from", func(c *Config) { c.Check.At, c.Check.To = 9, 2 }, []string{"check.to"}, "not after from"},
		{"check covers itself", func(c *Config) { c.Check.To = -1 }, []string{"check.to"}, "takes in the check's own bytes"},
		{"check covers itself, positive", func(c *Config) { c.Check.At, c.Check.To = 9, 10 }, []string{"check.to"}, "takes in the check's own bytes"},
		{"address size", func(c *Config) { c.Address.Size = 3 }, []string{"address.size"}, "valid: 1, 2, 4"},
		{"address beyond max_frame", func(c *Config) { c.Address.Offset = 255 }, []string{"address.offset"}, "beyond max_frame"},
		{"address negative", func(c *Config) { c.Address.Offset = -1 }, []string{"address.offset"}, "negative"},
		{"nothing read", func(c *Config) { c.Points, c.Flags = nil, nil }, []string{"points"}, "reads nothing"},
		{"point name missing", func(c *Config) { c.Points[1].Name = "" }, []string{"points[1].name"}, "is required"},
		{"point name twice", func(c *Config) { c.Points[1].Name = "smoke" }, []string{"points[1].name"}, "also points[0]"},
		{"point size", func(c *Config) { c.Points[0].Size = 8 }, []string{"points[0].size"}, "valid: 1, 2, 4"},
		{"point order", func(c *Config) { c.Points[0].Order = "LE" }, []string{"points[0].order"}, `"LE" is not a byte order`},
		{"point offset", func(c *Config) { c.Points[0].Offset = 255 }, []string{"points[0].offset"}, "beyond max_frame"},
		{"flag bit", func(c *Config) { c.Flags[2].Bit = 8 }, []string{"flags[2].bit"}, "valid: 0 to 7"},
		{"flag in the start marker", func(c *Config) { c.Flags[0].Offset = 0 }, []string{"flags[0].offset"}, "inside the start marker"},
		{"flag event", func(c *Config) { c.Flags[0].Event = "Smoke-Alarm" }, []string{"flags[0].event"}, "not an event kind"},
		{"flag event is a clear", func(c *Config) { c.Flags[0].Event = "smoke_clear" }, []string{"flags[0].event"}, "is a clear event"},
		{"flag event twice", func(c *Config) { c.Flags[1].Event = "smoke_alarm" }, []string{"flags[1].event"}, "also flags[0]"},
		{"flag severity missing", func(c *Config) { c.Flags[0].Severity = "" }, []string{"flags[0].severity"}, "valid: info, fault, warning, alarm, fire"},
		{"too many flags", func(c *Config) {
			for i := range 62 {
				c.Flags = append(c.Flags, Flag{Offset: 5 + i/8, Bit: i % 8, Event: "e" + strings.Repeat("x", i+1), Severity: "info"})
			}
		}, []string{"flags"}, "up to 64"},
		{"every problem at once", func(c *Config) {
			c.MaxFrame, c.Length.Size, c.Points[0].Size, c.Flags[0].Bit = 1, 3, 3, 9
		}, []string{"max_frame", "length.size", "points[0].size", "flags[0].bit"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := concentrator(t)
			c.Length = ptr(*c.Length)
			c.Check = ptr(*c.Check)
			c.Address = ptr(*c.Address)
			c.Points, c.Flags = slices.Clone(c.Points), slices.Clone(c.Flags)
			tt.change(&c)
			before := c
			fe := c.Validate()
			if got := fe.Fields(); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %q, want %q: %v", got, tt.fields, fe)
			}
			if tt.says != "" && !strings.Contains(fe[0].Problem, tt.says) {
				t.Errorf("%q does not say %q", fe[0].Problem, tt.says)
			}
			if !c.Start.equal(before.Start) || c.MaxFrame != before.MaxFrame {
				t.Error("Validate changed the config")
			}
			if len(fe) == 0 {
				New(c, nil) // must not panic
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func (h Hex) equal(o Hex) bool { return bytes.Equal(h, o) }

func TestNewPanicsOnInvalid(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New took an invalid config")
		}
	}()
	New(DefaultConfig(), nil)
}

func TestErrorKindsDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range ErrorKinds {
		if seen[k] || !eventKindRE.MatchString(k) {
			t.Errorf("error kind %q is repeated or not a plain name", k)
		}
		seen[k] = true
	}
}
