package mqtt

import (
	"reflect"
	"testing"

	"github.com/shouwang-iot/shouwang/internal/readme"
	"github.com/shouwang-iot/shouwang/internal/stamp"
)

// TestReadme keeps README.md in step with the code: it shows the sample
// verbatim and documents every key of the driver's section, of a profile's
// mqtt section, and every reason a message is counted bad. The sample
// itself is loaded through the real loader by the gateway's
// TestSamplesLoad.
func TestReadme(t *testing.T) {
	words := readme.Keys(reflect.TypeFor[Config](), reflect.TypeFor[Subscription](), reflect.TypeFor[Model](),
		reflect.TypeFor[PointMap](), reflect.TypeFor[FlagMap](), reflect.TypeFor[EventMap]())
	words = append(append(words, reasons...), FormatJSON, FormatKV, FormatNumber)
	words = append(words, stamp.Units...)
	readme.Check(t, Sample, words...)
}
