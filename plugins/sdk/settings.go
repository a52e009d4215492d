package sdk

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// DecodeSettings decodes the JSON object a Configurer receives into v, a
// pointer to a settings struct whose json tags name the keys, strictly:
// empty input is an empty object; a key the struct does not have, a value
// of the wrong type or trailing data is an InvalidSetting error naming the
// key, and the message for an unknown key lists the struct's keys. Besides
// JSON's own types, a time.Duration field takes a string such as "1.5s",
// and a field whose type implements encoding.TextUnmarshaler (netip.Addr,
// …) takes its text form; nested structs, slices and maps decode
// likewise.
//
// knownKeys is ignored: the keys come from v's type. It remains so that
// older callers compile.
func DecodeSettings(b []byte, v any, knownKeys ...string) error {
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return InvalidSetting("settings", "not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return InvalidSetting("settings", "trailing data after the JSON object")
	}
	keys := SettingsKeys(v)
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(keys, k) {
			return InvalidSetting(k, "unknown key; known keys are %s", strings.Join(keys, ", "))
		}
	}
	md, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName:     "json",
		Result:      v,
		ErrorUnused: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			numbersOnlyToNumbers,
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.TextUnmarshallerHookFunc(),
		),
	})
	if err != nil {
		return fmt.Errorf("sdk: settings type %T: %w", v, err)
	}
	if err := md.Decode(raw); err != nil {
		if de, ok := errors.AsType[*mapstructure.DecodeError](err); ok && de.Name() != "" {
			return InvalidSetting(de.Name(), "%v", de.Unwrap())
		}
		return InvalidSetting("settings", "%v", err)
	}
	return nil
}

// numbersOnlyToNumbers refuses a JSON number for a field that is not a
// number: json.Number is a string to mapstructure, which would otherwise
// turn 1 into "1".
func numbersOnlyToNumbers(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if _, ok := data.(json.Number); !ok {
		return data, nil
	}
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Interface:
		return data, nil
	}
	return nil, fmt.Errorf("a JSON number cannot be a %s", to)
}

// SettingsKeys returns the keys of the settings struct v (a struct or a
// pointer to one) in field order: each field's json tag name, or its
// name without one; fields tagged "-" and unexported fields are left out.
func SettingsKeys(v any) []string {
	var keys []string
	for _, f := range settingsFields(reflect.TypeOf(v)) {
		keys = append(keys, f.key)
	}
	return keys
}

type settingsField struct {
	key string
	typ reflect.Type
}

func settingsFields(t reflect.Type) []settingsField {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var fs []settingsField
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs = append(fs, settingsField{name, f.Type})
	}
	return fs
}

// SettingsSchema returns the JSON Schema of the settings struct v (a
// struct or a pointer to one) that Info publishes: an object with no
// other properties than v's keys, each with its JSON type. It returns ""
// for a nil v.
func SettingsSchema(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(schemaOf(reflect.TypeOf(v)))
	if err != nil {
		return ""
	}
	return string(b)
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// schemaOf returns the JSON Schema of values of t.
func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return map[string]any{"type": "string", "format": "duration"}
	case reflect.PointerTo(t).Implements(textType):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		for _, f := range settingsFields(t) {
			props[f.key] = schemaOf(f.typ)
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	}
	return map[string]any{}
}

// CheckSettings checks settings against what info publishes, without
// the plugin: a plugin without the configure capability takes none, and
// one with a settings schema takes only its keys, each of its JSON type
// (a duration format must parse). Without a schema it cannot tell and
// accepts. Errors are InvalidSetting errors naming the key.
func CheckSettings(info Info, settings []byte) error {
	if !info.Has(CapConfigure) {
		return checkSettings(settings)
	}
	if info.SettingsSchema == "" {
		return nil
	}
	var schema struct {
		Properties map[string]struct {
			Type   string `json:"type"`
			Format string `json:"format"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(info.SettingsSchema), &schema); err != nil {
		return fmt.Errorf("plugin %q publishes a settings schema that is not JSON: %w", info.Name, err)
	}
	if len(bytes.TrimSpace(settings)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(settings))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return InvalidSetting("settings", "not a JSON object: %v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p, ok := schema.Properties[k]
		if !ok {
			return InvalidSetting(k, "unknown key; known keys are %s", strings.Join(slices.Sorted(maps.Keys(schema.Properties)), ", "))
		}
		if got := jsonType(m[k]); got != p.Type && (p.Type != "number" || got != "integer") && p.Type != "" {
			return InvalidSetting(k, "a JSON %s is not a %s", got, p.Type)
		}
		if p.Format == "duration" {
			if _, err := time.ParseDuration(m[k].(string)); err != nil {
				return InvalidSetting(k, "%v", err)
			}
		}
	}
	return nil
}

// jsonType names the JSON Schema type of a value json.Decoder produced
// with UseNumber.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	default:
		return "object"
	}
}
