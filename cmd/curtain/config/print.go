package config

import (
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// YAML renders the configuration with every secret masked.
func (c Config) YAML() ([]byte, error) {
	return yaml.Marshal(maskMap(toMap(c)))
}

// toMap renders a struct as nested maps keyed by koanf tags, in clear.
func toMap(v any) map[string]any {
	out, _ := toValue(reflect.ValueOf(v)).(map[string]any)
	return out
}

func toValue(v reflect.Value) any {
	if v.Type() == secretType {
		// Secrets print masked whatever their key is called.
		return v.Interface().(Secret).String()
	}
	switch v.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := t.Field(i).Tag.Get("koanf")
			if tag == "" || tag == "-" {
				continue
			}
			m[tag] = toValue(v.Field(i))
		}
		return m
	case reflect.Slice:
		s := make([]any, v.Len())
		for i := range s {
			s[i] = toValue(v.Index(i))
		}
		return s
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[k.String()] = toValue(v.MapIndex(k))
		}
		return m
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return toValue(v.Elem())
	case reflect.String:
		return v.String()
	case reflect.Int64:
		if v.Type() == reflect.TypeOf(time.Duration(0)) {
			return time.Duration(v.Int()).String()
		}
		return v.Int()
	default:
		return v.Interface()
	}
}

var secretType = reflect.TypeOf(Secret(""))

// sensitive matches the keys of free-form plugin settings whose values are
// secrets or may carry them; typed keys are masked by their Secret type.
var sensitive = regexp.MustCompile(`(?i)(url|password|passwd|passphrase|secret|token|webhook|dsn|key|credential|auth|authorization)s?$`)

func maskMap(m map[string]any) map[string]any {
	for k, v := range m {
		secret := sensitive.MatchString(k) && !strings.HasPrefix(k, "sha")
		switch x := v.(type) {
		case map[string]any:
			m[k] = maskMap(x)
		case []any:
			// A list under a secret's key (urls: [...]) is a list of
			// secrets.
			for i, e := range x {
				switch e := e.(type) {
				case map[string]any:
					x[i] = maskMap(e)
				case string:
					if secret {
						x[i] = Mask(e)
					}
				}
			}
		case string:
			if secret {
				m[k] = Mask(x)
			}
		}
	}
	return m
}
