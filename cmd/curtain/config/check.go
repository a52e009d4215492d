package config

import (
	"encoding"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	configType   = reflect.TypeOf(Config{})
	durationType = reflect.TypeOf(time.Duration(0))
)

// checker walks the merged configuration against the Config type before it
// is decoded, so that every unknown key and every value of the wrong type is
// reported at once, with the layer (the file, the environment variable, the
// flag) it came from and a fix.
type checker struct {
	origins  map[string]layer
	errs     []error
	warnings []string
	// dropped are unknown keys of lenient layers, removed before decoding.
	dropped []string
}

// from describes where key was set.
func (c *checker) from(key string) (string, bool) {
	l, ok := nearest(c.origins, key)
	if !ok {
		// A section that no layer names itself: the layer of a key below
		// it (CURTAIN_FOO__BAR gives foo.bar, and the section foo).
		for _, k := range slices.Sorted(maps.Keys(c.origins)) {
			if strings.HasPrefix(k, key+".") {
				return c.origins[k].origin(k), c.origins[k].lenient
			}
		}
		return "", false
	}
	return l.origin(key), l.lenient
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// walk checks v, found at key, against t.
func (c *checker) walk(key string, v any, t reflect.Type) {
	if v == nil {
		return
	}
	switch {
	case t == durationType:
		switch x := v.(type) {
		case string:
			if _, err := time.ParseDuration(strings.TrimSpace(x)); err != nil {
				c.bad(key, v, `use a duration such as "500ms", "2s" or "1m"`)
			}
		case int, int64, uint64, float64:
			// A bare number would be nanoseconds: "shutdown_timeout: 10"
			// meant seconds. Only 0 reads the same in every unit.
			if fmt.Sprint(x) != "0" {
				c.bad(key, v, `write the unit, such as "`+fmt.Sprint(x)+`s" or "`+fmt.Sprint(x)+`ms": a bare number is nanoseconds`)
			}
		case time.Duration:
		default:
			c.bad(key, v, `use a duration such as "500ms", "2s" or "1m"`)
		}
	case t.Kind() == reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			c.bad(key, v, "use a mapping of "+strings.Join(fieldNames(t), ", "))
			return
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			if tag := t.Field(i).Tag.Get("koanf"); tag != "" && tag != "-" {
				fields[tag] = t.Field(i).Type
			}
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			ft, ok := fields[k]
			if !ok {
				c.unknown(join(key, k), t)
				continue
			}
			c.walk(join(key, k), m[k], ft)
		}
	case t.Kind() == reflect.Slice:
		s, ok := v.([]any)
		if _, isString := v.(string); isString && (t.Elem().Kind() == reflect.String || reflect.PointerTo(t).Implements(textUnmarshaler)) {
			return // a comma-separated list, as environment variables give it
		}
		if _, isStrings := v.([]string); isStrings && t.Elem().Kind() == reflect.String {
			return
		}
		if !ok {
			if _, isString := v.(string); isString && t.Elem().Kind() == reflect.String {
				return // comma-separated in the environment
			}
			if m, isMap := v.(map[string]any); isMap {
				if _, env := c.from(key); env {
					c.bad(key, slices.Sorted(maps.Keys(m)), "number the entries 0, 1, 2, … without a gap, as in CURTAIN_"+strings.ToUpper(strings.ReplaceAll(key, ".", "__"))+"__0__…")
					return
				}
			}
			if ms, isMaps := v.([]map[string]any); isMaps {
				for i, e := range ms {
					c.walk(join(key, strconv.Itoa(i)), e, t.Elem())
				}
				return
			}
			c.bad(key, v, "use a list")
			return
		}
		for i, e := range s {
			c.walk(join(key, strconv.Itoa(i)), e, t.Elem())
		}
	case t.Kind() == reflect.Map:
		if _, ok := v.(map[string]any); !ok {
			c.bad(key, v, "use a mapping")
		}
	case t.Kind() == reflect.Bool:
		if s, ok := v.(string); ok {
			if _, err := strconv.ParseBool(strings.TrimSpace(s)); err != nil {
				c.bad(key, v, "use true or false")
			}
		} else if _, ok := v.(bool); !ok {
			c.bad(key, v, "use true or false")
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		switch x := v.(type) {
		case string:
			if _, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err != nil {
				c.bad(key, v, "use a whole number")
			}
		case int, int64, uint64:
		case float64:
			if x != float64(int64(x)) {
				c.bad(key, v, "use a whole number")
			}
		default:
			c.bad(key, v, "use a whole number")
		}
	case t.Kind() == reflect.String:
		switch v.(type) {
		case map[string]any, []any:
			c.bad(key, v, "use a single value")
		}
	}
}

func (c *checker) bad(key string, v any, fix string) {
	where, _ := c.from(key)
	if where != "" {
		where = " (from " + where + ")"
	}
	c.errs = append(c.errs, fmt.Errorf("%s%s: invalid value %q: %s", key, where, fmt.Sprint(v), fix))
}

// unknown reports a key the configuration does not have: an error in a file
// or a flag, a warning in the environment, where other software (Kubernetes
// service links, for one) sets CURTAIN_* variables of its own.
func (c *checker) unknown(key string, parent reflect.Type) {
	where, lenient := c.from(key)
	hint := "known keys here: " + strings.Join(fieldNames(parent), ", ")
	if lenient {
		if v := envNameLike(curtainKey(where)); v != "" {
			hint = "did you mean " + v + " (__ between the parts of a key)?"
		}
		c.warnings = append(c.warnings, fmt.Sprintf("ignoring %s: it names no configuration key (%s); %s", where, key, hint))
		c.dropped = append(c.dropped, key)
		return
	}
	if where != "" {
		where = " (in " + where + ")"
	}
	c.errs = append(c.errs, fmt.Errorf("%s%s: unknown key; %s", key, where, hint))
}

// envNameLike returns the CURTAIN_* variable of the configuration key
// that key names but for the separators (CURTAIN_HTTP__ADDR for
// CURTAIN_HTTP_ADDR's http_addr), or "" when there is none.
func envNameLike(key string) string {
	flat := strings.ReplaceAll(key, ".", "_")
	var found string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := f.Tag.Get("koanf")
			if name == "" || name == "-" {
				continue
			}
			path := join(prefix, name)
			if strings.ReplaceAll(path, ".", "_") == flat {
				found = "CURTAIN_" + strings.ToUpper(strings.ReplaceAll(path, ".", "__"))
			}
			if f.Type.Kind() == reflect.Struct {
				walk(path, f.Type)
			}
		}
	}
	walk("", configType)
	return found
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("koanf"); tag != "" && tag != "-" {
			names = append(names, tag)
		}
	}
	return names
}

// textUnmarshaler is the interface of list elements that environment
// variables give as comma-separated text (links.domains).
var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
