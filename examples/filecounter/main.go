// Command filecounter is a complete third-party Curtain plugin: a
// core.Counter that keeps its value in a file, so short codes keep
// counting up across restarts without Redis or PostgreSQL.
//
// Copy this directory to start a plugin of your own. The implementation
// is in counter.go; main is one sdk.Serve call; counter_test.go runs the
// conformance suite in process, over a real plugin process, and through
// the host. Build it and point Curtain's configuration at the binary:
//
//	go build -o /usr/local/lib/curtain/filecounter ./examples/filecounter
//
//	plugins:
//	  counter:
//	    path: /usr/local/lib/curtain/filecounter
//	    sha256: <output of sha256sum>
//	    settings: {path: /var/lib/curtain/counter}
//
// The host starts the binary itself; run by hand, it prints a notice and
// exits.
package main

import "github.com/curtainhq/curtain/plugins/sdk"

// version is the plugin's release version, reported to the host by Info.
const version = "0.1.0"

func main() {
	sdk.Serve(sdk.Plugin{Name: "file-counter", Version: version, Counter: newFileCounter(), Settings: settings{}})
}
