package mqtt

import _ "embed"

// Sample is a commented sink section, shipped with the binary and checked
// by the gateway's tests through the real loader.
//
//go:embed sample.yaml
var Sample []byte
