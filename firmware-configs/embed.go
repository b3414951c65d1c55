// Package firmwareconfigs ships the device profiles in the binary: one YAML
// file per device model, with its type, points and events. The gateway
// loads these, then any profiles in the directory the config names, which
// may add models or override these by model name.
package firmwareconfigs

import "embed"

// FS holds every *.yaml profile in this directory.
//
//go:embed *.yaml
var FS embed.FS
