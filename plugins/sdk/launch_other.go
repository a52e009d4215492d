//go:build !linux

package sdk

import "os/exec"

// setParentDeathSignal does nothing off Linux: there a plugin served by
// Serve still exits when it finds its parent gone.
func setParentDeathSignal(*exec.Cmd) {}
