package core

import "strings"

// Custom short codes ("slugs", issue 19) are chosen by the client on
// create. They live beside the generated codes in one namespace and follow
// these rules:
//
//   - 3 to MaxShortCodeLen characters of A-Z, a-z, 0-9, "-" and "_", so a
//     slug never needs escaping in a URL path;
//   - not a reserved word (ReservedCodes), compared without regard to
//     case, so that a link can never shadow a route if codes are served at
//     the root;
//   - unique. Codes are case-sensitive, like the generated ones (base 62
//     uses both cases): "Docs2" and "docs2" are two links. A generated
//     code that a slug already holds is skipped by the generator.
const MinCustomCodeLen = 3

// ReservedCodes are the words no slug may be, in lower case: the first
// path segments of Curtain's own routes and a few names that browsers and
// crawlers request at the root. They are refused whether codes are served
// at the root (links.root_codes) or not, so turning that on never hides a
// link; core/httpapi's TestReservedCodesCoverRoutes fails when a route's
// first segment is missing here.
var ReservedCodes = []string{
	"admin", "api", "assets", "debug", "docs", "events", "favicon.ico", "health",
	"login", "metrics", "openapi.json", "r", "robots.txt", "shorten-ui", "static",
	"urls", "users",
}

// Client-facing messages of custom codes.
const (
	msgCodeLength   = "Field 'short_code' must be 3 to 16 characters long"
	msgCodeCharset  = "Field 'short_code' may only contain letters, digits, '-' and '_'"
	msgCodeReserved = "Field 'short_code' is a reserved word"
	msgCodeTaken    = "Field 'short_code' is already in use"
)

// checkCustomCode applies the slug rules but uniqueness, which the store
// decides.
func checkCustomCode(code string) error {
	if len(code) < MinCustomCodeLen || len(code) > MaxShortCodeLen {
		return invalid("short_code", msgCodeLength)
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return invalid("short_code", msgCodeCharset)
		}
	}
	return checkReservedCode(code)
}

// checkReservedCode refuses a code that is a reserved word
// (ReservedCodes) in any case. Every code a client or an import chooses
// passes it (POST /urls through checkCustomCode, ImportURL directly), so
// no link can shadow a route when codes are served at the root.
func checkReservedCode(code string) error {
	for _, w := range ReservedCodes {
		if strings.EqualFold(code, w) {
			return invalid("short_code", msgCodeReserved)
		}
	}
	return nil
}
