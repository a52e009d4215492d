package core

// codeAlphabet orders the 62 short-code symbols: digits, lower, upper case.
const codeAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// CodeLength is the minimum short-code length; shorter codes are 0-padded.
const CodeLength = 6

// Base62 renders n (n >= 0) in base 62, most significant digit first.
func Base62(n int64) string {
	if n == 0 {
		return "0"
	}
	var buf [11]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = codeAlphabet[n%62]
		n /= 62
	}
	return string(buf[i:])
}

// ShortCode renders n as a short code: base 62, left-padded with 0 to
// CodeLength characters, never truncated.
func ShortCode(n int64) string {
	s := Base62(n)
	for len(s) < CodeLength {
		s = "0" + s
	}
	return s
}
