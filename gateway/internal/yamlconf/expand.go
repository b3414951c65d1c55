package yamlconf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxFileRef bounds what ${file:PATH} reads: it is meant for a token or a
// password, and a mistyped path to a log file should fail, not load it.
const maxFileRef = 64 << 10

const validRefs = "valid: ${env:NAME}, ${file:PATH}; write $${ for a literal ${"

// expand replaces ${env:NAME} and ${file:PATH} in a string scalar, so
// secrets stay out of the config file. changed reports whether anything came
// from outside, in which case the result must never appear in a message or a
// log. Replacements are not expanded again. problems lists every bad
// reference; it only ever quotes the text as written.
func (d *Document) expand(s string) (out string, changed bool, problems []string) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			problems = append(problems, fmt.Sprintf("unterminated %s (%s)", quoteShort(s[i:]), validRefs))
			break
		}
		ref := s[i+2 : i+end]
		s = s[i+end+1:]
		val, problem := d.resolve(ref)
		if problem != "" {
			problems = append(problems, problem)
			continue
		}
		b.WriteString(val)
		changed = true
	}
	return b.String(), changed, problems
}

// resolve looks up one reference, the text between "${" and "}".
func (d *Document) resolve(ref string) (val, problem string) {
	kind, arg, _ := strings.Cut(ref, ":")
	switch kind {
	case "env":
		if !isEnvName(arg) {
			return "", fmt.Sprintf("bad environment variable name %s in ${env:...} (want letters, digits and _, like ${env:MQTT_PASSWORD})", quoteShort(arg))
		}
		v, ok := os.LookupEnv(arg)
		if !ok {
			return "", fmt.Sprintf("environment variable %s is not set", arg)
		}
		if v == "" {
			return "", fmt.Sprintf("environment variable %s is empty", arg)
		}
		return v, ""
	case "file":
		if arg == "" {
			return "", "empty path in ${file:} (want ${file:PATH}, relative to the config file's folder)"
		}
		p := arg
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(d.File), p)
		}
		data, err := readSmall(p)
		if err != nil {
			return "", fmt.Sprintf("cannot read file %q for ${file:...}: %s", p, why(err))
		}
		s := strings.TrimSuffix(string(data), "\n")
		return strings.TrimSuffix(s, "\r"), ""
	}
	return "", fmt.Sprintf("unknown reference %s (%s)", quoteShort("${"+ref+"}"), validRefs)
}

func isEnvName(s string) bool {
	for i, r := range s {
		if r != '_' && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && (i == 0 || !('0' <= r && r <= '9')) {
			return false
		}
	}
	return s != ""
}

var errTooLarge = errors.New("larger than 64 KiB (${file:...} is for a token or password)")

var errNotRegular = errors.New("not a regular file")

// readSmall reads a regular file of at most maxFileRef bytes. Anything else
// (a FIFO or a device, where opening or reading could block the config
// check forever) is refused before it is opened.
func readSmall(path string) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, errNotRegular
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileRef+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileRef {
		return nil, errTooLarge
	}
	return data, nil
}

// why is the reason a read failed without the path again, which the message
// already names.
func why(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
