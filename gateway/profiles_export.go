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
	fsyss := []fs.FS{firmwareconfigs.FS}
	dirs := []string{"firmware-configs"}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("profiles: %q is not a readable directory (a folder of device profile *.yaml files)", dir)
		}
		fsyss, dirs = append(fsyss, os.DirFS(dir)), append(dirs, dir)
	}
	profiles, errs := loadProfiles(fsyss, dirs)
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return profiles, nil
}
