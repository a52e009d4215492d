package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
)

// DecodeSettings decodes the JSON object a Configurer receives into v (a
// pointer to a struct with json tags), strictly: empty input is an empty
// object, and an unknown key, a value of the wrong type or trailing data is
// an InvalidSetting error naming the key. knownKeys is listed in the
// message for an unknown key.
func DecodeSettings(b []byte, v any, knownKeys string) error {
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
			return InvalidSetting(m[1], "unknown key; known keys are %s", knownKeys)
		}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return InvalidSetting(te.Field, "a JSON %s cannot be a %s", te.Value, te.Type)
		}
		return InvalidSetting("settings", "not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return InvalidSetting("settings", "trailing data after the JSON object")
	}
	return nil
}

// unknownField matches encoding/json's error for a key not in the struct;
// encoding/json offers no typed error that names the key.
var unknownField = regexp.MustCompile(`^json: unknown field "(.*)"$`)
