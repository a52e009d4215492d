package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/joho/godotenv"
)

// dotEnvFile is the file the reference's app reads its environment from
// at start, in the working directory (spec §12).
const dotEnvFile = ".env"

// realEnvOnly names the commands that, like the reference's consumer,
// notifier and relay, read only the real environment.
var realEnvOnly = map[string]bool{"consume": true, "notify": true}

// withDotEnv returns environ with the variables of ./.env that environ
// does not set added (existing variables win), for the commands of the
// app; environ as it is when there is no such file.
func withDotEnv(command string, environ []string) ([]string, error) {
	if realEnvOnly[command] {
		return environ, nil
	}
	vars, err := godotenv.Read(dotEnvFile)
	if errors.Is(err, fs.ErrNotExist) {
		return environ, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dotEnvFile, err)
	}
	set := make(map[string]bool, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	out := environ[:len(environ):len(environ)]
	for k, v := range vars {
		if !set[k] {
			out = append(out, k+"="+v)
		}
	}
	return out, nil
}
