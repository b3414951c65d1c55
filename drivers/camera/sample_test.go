package camera

import (
	"reflect"
	"testing"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/camera/facade"
	"github.com/shouwang-iot/shouwang/drivers/camera/report"
	"github.com/shouwang-iot/shouwang/internal/readme"
	"github.com/shouwang-iot/shouwang/internal/stamp"
)

// TestReadme keeps README.md in step with the code: it shows the sample
// verbatim and documents every key of the driver's section (its mqtt
// section and each camera's), of a calibration, and of a profile's camera
// section, every outcome counted, the event kinds, and every reason a
// body is refused. The sample itself is loaded through the real loader by
// the gateway's TestSamplesLoad.
func TestReadme(t *testing.T) {
	words := readme.Keys(reflect.TypeFor[Config](), reflect.TypeFor[MQTT](), reflect.TypeFor[Camera](),
		reflect.TypeFor[facade.Calibration](), reflect.TypeFor[facade.Corners](), reflect.TypeFor[facade.Column](),
		reflect.TypeFor[facade.WindowMap](), reflect.TypeFor[report.Model](), reflect.TypeFor[report.Match](),
		reflect.TypeFor[report.Track](), reflect.TypeFor[report.Point](), reflect.TypeFor[report.Box]())
	words = append(words, outcomes...)
	words = append(words, KindThrown, shouwang.ClearKind(KindThrown))
	words = append(words, report.FormatJSON, report.FormatXML,
		stamp.Auto, stamp.Seconds, stamp.Millis, stamp.RFC3339,
		report.TSeconds, report.TMillis, report.TMicros, report.TRFC3339,
		report.ReasonUnsupported, report.ReasonMalformed, report.ReasonNoDocument, report.ReasonTooManyParts,
		report.ReasonTooDeep, report.ReasonTooLarge, report.ReasonNoTrack, report.ReasonBadTrack,
		report.ReasonBadTime, report.ReasonBadValue, report.ReasonBadImage, report.ReasonBadURL)
	readme.Check(t, Sample, words...)
	readme.Check(t, SampleDevices)
}
