package host

// PluginCommandForTest returns the command that runs the test plugin, for
// the package's examples.
func PluginCommandForTest() []string { return []string{testPlugin} }
