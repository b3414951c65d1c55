package broker

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// A pattern is an ACL topic filter split into its segments. "+", "#",
// "%u" and "%c" are whole segments; %u and %c stand for one literal
// segment equal to the username or client id, never for a wildcard, so a
// client id such as "+" or "a/b" cannot widen what a pattern allows.
type pattern []string

func compile(filter string) pattern { return strings.Split(filter, "/") }

// checkFilter says what is wrong with an ACL filter, worded to follow the
// filter in a FieldError.
func checkFilter(f string) error {
	switch {
	case f == "":
		return errors.New("is empty (want a topic filter, e.g. community/+/building/#)")
	case len(f) > 65535:
		return errors.New("is longer than MQTT allows (65535 bytes)")
	case !utf8.ValidString(f) || strings.ContainsRune(f, 0):
		return errors.New("is not valid UTF-8 text without NUL (MQTT topics are)")
	case strings.HasPrefix(f, "$share/"):
		return errors.New("is a shared subscription (write the filter after $share/<group>/: a shared subscription is checked as that filter)")
	}
	segs := compile(f)
	for i, s := range segs {
		switch {
		case s == "#" && i != len(segs)-1:
			return errors.New("has # before the last level (# must be the last segment, e.g. a/b/#)")
		case s == "+" || s == "#" || s == "%u" || s == "%c":
		case strings.ContainsAny(s, "+#"):
			return errors.New("has + or # inside a level (wildcards are whole segments, e.g. a/+/c)")
		case strings.Contains(s, "%u") || strings.Contains(s, "%c"):
			return errors.New("has %u or %c inside a level (they stand for a whole segment, e.g. devices/%u/#)")
		}
	}
	return nil
}

// matchSeg says whether pattern segment p, for user and client id,
// covers the literal topic segment s at level i.
func matchSeg(p, s string, i int, user []byte, client string) bool {
	switch p {
	case "+":
		return i > 0 || !strings.HasPrefix(s, "$") // wildcards skip $SYS and the like
	case "%u":
		return s == string(user)
	case "%c":
		return s == client
	}
	return p == s
}

// segments appends the levels of a topic name, or of a subscription
// filter (filter true; a shared subscription counts as its filter), to
// dst; ok is false for a shared subscription without its filter. The ACL
// check runs on every publish and delivery: a caller passes a stack array
// so that splitting allocates nothing.
func segments(dst []string, topic string, filter bool) (segs []string, ok bool) {
	if rest, shared := strings.CutPrefix(topic, "$share/"); filter && shared {
		if _, topic, ok = strings.Cut(rest, "/"); !ok {
			return dst, false
		}
	}
	for {
		seg, rest, more := strings.Cut(topic, "/")
		dst = append(dst, seg)
		if !more {
			return dst, true
		}
		topic = rest
	}
}

// covers says whether p covers the filter segments f (a topic name being
// a filter without wildcards): every topic f matches, p matches.
func (p pattern) covers(f []string, user []byte, client string) bool {
	for i := 0; ; i++ {
		switch {
		case i < len(p) && p[i] == "#":
			// "a/#" also matches "a" itself; at the top level it skips $ topics.
			return i > 0 || i >= len(f) || !strings.HasPrefix(f[i], "$")
		case i == len(p) || i == len(f):
			return i == len(p) && i == len(f)
		case f[i] == "#":
			return false // only # covers #
		case f[i] == "+":
			if p[i] != "+" {
				return false
			}
		case !matchSeg(p[i], f[i], i, user, client):
			return false
		}
	}
}
