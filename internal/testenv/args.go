package testenv

import "strings"

// FlagValue returns the value of the flag --name in a command's args
// (--name value or --name=value), or def when they do not set it.
func FlagValue(args []string, name, def string) string {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return def
}
