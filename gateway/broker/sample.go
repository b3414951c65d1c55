package broker

import _ "embed"

// Sample is a commented broker section, shipped with the binary and
// checked by the package's tests through the real decoder.
//
//go:embed sample.yaml
var Sample []byte
