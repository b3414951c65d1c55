package gateway

import (
	"fmt"
	"io/fs"
	"os"

	firmwareconfigs "github.com/shouwang-iot/shouwang/firmware-configs"
)

// LoadProfiles reads the built-in device profiles and, when dir is not
// empty, the *.yaml profiles in dir, which may add models or override
// built-in ones by model name: the profiles a config's gateway.profiles
// would give, for the installer's commands that work without a config
// file. Every problem is reported, as yamlconf.Errors positioned in the
// profile files; a dir that is not a readable directory is an error of
// its own.
func LoadProfiles(dir string) (map[string]*Profile, error) {
	fsyss, dirs, err := profileSources(dir, dir)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	profiles, errs := loadProfiles(fsyss, dirs)
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return profiles, nil
}

// profileSources are the file systems profiles are read from, in order:
// the built-in ones, then dir if it is set; shown is how messages name dir.
func profileSources(dir, shown string) ([]fs.FS, []string, error) {
	fsyss := []fs.FS{firmwareconfigs.FS}
	dirs := []string{"firmware-configs"}
	if dir == "" {
		return fsyss, dirs, nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fsyss, dirs, fmt.Errorf("%q is not a readable directory (a folder of device profile *.yaml files)", dir)
	}
	return append(fsyss, os.DirFS(dir)), append(dirs, shown), nil
}

// ProfilesWith lists, sorted, the profiles that have a section for
// driver type typ ("modbus").
func ProfilesWith(profiles map[string]*Profile, typ string) []string {
	var out []string
	for _, name := range sortedKeys(profiles) {
		if profiles[name].Drivers[typ] != nil {
			out = append(out, name)
		}
	}
	return out
}
