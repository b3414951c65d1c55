// Package deploy holds what installs and runs Shouwang: the example config
// (which `shouwang demo` runs, so the example cannot rot), service files
// and container recipes.
package deploy

import _ "embed"

// Example is shouwang.example.yaml: a commented config for a sample
// community.
//
//go:embed shouwang.example.yaml
var Example []byte
