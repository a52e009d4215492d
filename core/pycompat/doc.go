// Package pycompat reproduces, in Go, the few behaviours of Python's
// standard library that the reference implementation lets clients see, so
// that Curtain answers byte for byte as the reference did:
//
//   - JSON as the json module reads and writes it: a parser that keeps
//     object members in document order and numbers as Python prints them,
//     and writers for json.dumps' default layout (AppendPython) and the
//     API's sorted, compact layout (AppendSorted), both pure ASCII;
//   - str.strip(), str.isspace(), str.isascii() and int() on a string
//     (Strip, IsSpace, IsASCII, ParseInt);
//   - urllib.parse.urlsplit and its bracketed-host check (URLSplit,
//     ValidBracketedNetloc).
//
// It is a leaf: it imports the standard library only, and nothing in it
// knows about URLs, users or HTTP. core validates with it; core/httpapi
// decodes requests and writes responses with it.
package pycompat
