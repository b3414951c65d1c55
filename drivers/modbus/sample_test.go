package modbus

import (
	"reflect"
	"testing"

	"github.com/shouwang-iot/shouwang/internal/readme"
)

// TestReadme keeps README.md in step with the code: it shows the sample
// verbatim and documents every key of the driver's section and of a
// profile's modbus section. The sample itself is loaded through the real
// loader by the gateway's TestSamplesLoad.
func TestReadme(t *testing.T) {
	words := readme.Keys(reflect.TypeFor[Config](), reflect.TypeFor[Line](), reflect.TypeFor[Model](),
		reflect.TypeFor[Register](), reflect.TypeFor[StatusMap](), reflect.TypeFor[BitEvent](), reflect.TypeFor[ValueEvent](),
		reflect.TypeFor[Setting](), reflect.TypeFor[Identify]())
	words = append(append(words, typeNames[1:]...), orderNames[:]...)
	readme.Check(t, Sample, words...)
}
