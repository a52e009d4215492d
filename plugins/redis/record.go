package redis

import (
	"context"
	"math"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
)

// bucketTTLSeconds is the EXPIRE argument of an hourly bucket, boxed once.
var bucketTTLSeconds any = int64(core.BucketTTL / time.Second)

// recordBatch holds the commands of one Record batch, built with a few
// allocations per batch rather than a dozen per click: every key and
// formatted value lives in one string, every argument in one slice, and
// the arguments point into the batch's strings and clicks (*string, which
// go-redis writes as the string) instead of boxing a copy each.
//
// The figures are aggregated per code: one INCRBY of the code's clicks in
// the batch, one PFADD of its distinct visitors, and one INCRBY and EXPIRE
// per hourly bucket it touched, giving the same keys, values and TTLs as
// the reference's INCR, INCR, EXPIRE and PFADD per click. Every click that
// is not Stored still gets its own XADD, in batch order.
type recordBatch struct {
	clicks  []core.Click
	codes   []codeFigures
	buckets []bucketCount
	// clickCode is the index in codes of each click's code, next the
	// index of the next click of the same code (0 after the last one:
	// a later click is never at index 0), ts the span in text of each
	// click's ts field.
	clickCode, next []int
	ts              []span
	// text holds every key and value; spans index it once it is built.
	buf  []byte
	text string
	// strs holds the strings arguments point to, cut from text.
	strs []string
	args []any
	// streams lists the distinct streams written, in batch order.
	streams []string
	// bumped lists the streams whose index score the batch bumps (single
	// server): those of streams that bumps did not bump lately.
	bumped []string
}

// span is a substring of a recordBatch's text, by offsets.
type span struct{ from, to int }

// codeFigures is what a batch adds to the figures of one code.
type codeFigures struct {
	first, last       int // its first and last clicks
	clicks            int64
	total, uv, stream span
	// bucket is the index in buckets of its latest hourly bucket.
	bucket              int
	streamed            bool   // some click of the code gets an XADD
	totalKey, streamKey string // set once text is built
}

// bucketCount is one hourly bucket of a code and its clicks in a batch.
type bucketCount struct {
	code   int   // index in codes
	hour   int64 // Unix hour
	key    span
	clicks int64
}

// newRecordBatch groups clicks by code and formats every key and value;
// a click with a zero At counts at now.
func newRecordBatch(prefix string, clicks []core.Click, now time.Time) *recordBatch {
	b := &recordBatch{
		clicks:    clicks,
		clickCode: make([]int, 2*len(clicks)),
		ts:        make([]span, len(clicks)),
		buf:       make([]byte, 0, len(clicks)*96),
	}
	b.clickCode, b.next = b.clickCode[:len(clicks)], b.clickCode[len(clicks):]
	index := make(map[string]int, len(clicks))
	var hourText []byte // the last hour formatted, usually every click's
	lastHour := int64(math.MinInt64)
	for i := range clicks {
		ck := &clicks[i]
		at := ck.At
		if at.IsZero() {
			at = now
		}
		ci, ok := index[ck.Code]
		if !ok {
			ci = len(b.codes)
			index[ck.Code] = ci
			b.codes = append(b.codes, b.newCode(prefix, i))
		} else {
			b.next[b.codes[ci].last] = i
			b.codes[ci].last = i
		}
		b.clickCode[i] = ci
		if hour := unixHour(at); hour != lastHour {
			lastHour = hour
			hourText = at.UTC().AppendFormat(hourText[:0], core.HourLayout)
		}
		b.count(ci, lastHour, hourText)
		from := len(b.buf)
		b.buf = appendUnixSeconds(b.buf, at)
		b.ts[i] = span{from, len(b.buf)}
		if !ck.Stored {
			b.codes[ci].streamed = true
		}
	}
	b.text = string(b.buf)
	b.buf = nil
	for i := range b.codes {
		cf := &b.codes[i]
		cf.totalKey, cf.streamKey = b.str(cf.total), b.str(cf.stream)
		if cf.streamed {
			b.streams = append(b.streams, cf.streamKey)
		}
	}
	return b
}

// newCode formats the keys of the code of click i.
func (b *recordBatch) newCode(prefix string, i int) codeFigures {
	code := b.clicks[i].Code
	cf := codeFigures{first: i, last: i, bucket: -1}
	cf.total = b.appendKey(prefix, clicksPrefix, code, "")
	cf.uv = b.appendKey(prefix, clicksPrefix, code, ":uv")
	cf.stream = b.appendKey(prefix, streamPrefix, code, "")
	return cf
}

// appendKey appends prefix+kind+code+suffix to the text and returns it.
func (b *recordBatch) appendKey(prefix, kind, code, suffix string) span {
	from := len(b.buf)
	b.buf = append(append(append(append(b.buf, prefix...), kind...), code...), suffix...)
	return span{from, len(b.buf)}
}

// count adds a click in hour (formatted as hourText) to code ci.
func (b *recordBatch) count(ci int, hour int64, hourText []byte) {
	cf := &b.codes[ci]
	cf.clicks++
	if cf.bucket >= 0 && b.buckets[cf.bucket].hour == hour {
		b.buckets[cf.bucket].clicks++
		return
	}
	for j := range b.buckets { // a batch across an hour boundary
		if b.buckets[j].code == ci && b.buckets[j].hour == hour {
			b.buckets[j].clicks++
			cf.bucket = j
			return
		}
	}
	from := len(b.buf)
	b.buf = append(append(append(b.buf, b.buf[cf.total.from:cf.total.to]...), ":ts:"...), hourText...)
	cf.bucket = len(b.buckets)
	b.buckets = append(b.buckets, bucketCount{code: ci, hour: hour, key: span{from, len(b.buf)}, clicks: 1})
}

// str returns the text of s.
func (b *recordBatch) str(s span) string { return b.text[s.from:s.to] }

// ref stores s and returns a pointer to it, for an argument.
func (b *recordBatch) ref(s string) *string {
	b.strs = append(b.strs, s)
	return &b.strs[len(b.strs)-1]
}

// command returns the arguments appended since from, as one command's.
func (b *recordBatch) command(from int) []any { return b.args[from:len(b.args):len(b.args)] }

// queue queues the batch's commands, each on the pipeline pipeFor returns
// for its key: the figures, then the stream entries in batch order, then
// (single server) the unread mark and the index bumps of the streams
// written, after their entries, but for those bumps says it bumped less
// than indexFresh before now (nil bumps: every stream).
func (b *recordBatch) queue(ctx context.Context, cn *conn, pipeFor func(key string) goredis.Pipeliner, bumps *bumpMemory, now time.Time) {
	b.strs = make([]string, 0, len(b.codes)+len(b.buckets)+len(b.clicks)+2*len(b.streams)+1)
	b.args = make([]any, 0, 12*len(b.clicks)+8*len(b.codes)+4*len(b.buckets)+6*len(b.streams)+2)
	for i := range b.codes {
		b.queueTotals(ctx, &b.codes[i], pipeFor)
	}
	for i := range b.buckets {
		b.queueBucket(ctx, &b.buckets[i], pipeFor)
	}
	for i := range b.clicks {
		if !b.clicks[i].Stored {
			b.queueEntry(ctx, i, pipeFor)
		}
	}
	if cn.cluster != nil || len(b.streams) == 0 {
		return // on a cluster indexAfter writes the index
	}
	// Mark the streams unread (see readUnread), then bump their index
	// scores (see index.go), after their entries.
	key := cn.key(unreadKey)
	from := len(b.args)
	b.args = append(b.args, "sadd", key)
	for i := range b.streams {
		b.args = append(b.args, &b.streams[i])
	}
	pipe := pipeFor(key)
	_ = pipe.Process(ctx, goredis.NewIntCmd(ctx, b.command(from)...))
	b.bumped = b.streams
	if bumps != nil {
		b.bumped = bumps.stale(b.streams, now)
	}
	for i := range b.bumped {
		from = len(b.args)
		b.args = append(b.args, "zincrby", b.ref(cn.indexKey(b.bumped[i])), indexBump, &b.bumped[i])
		_ = pipe.Process(ctx, goredis.NewFloatCmd(ctx, b.command(from)...))
	}
}

// indexBump is the ZINCRBY increment of a stream's index score.
var indexBump any = int64(1)

// queueTotals queues the total and the visitors of a code.
func (b *recordBatch) queueTotals(ctx context.Context, cf *codeFigures, pipeFor func(key string) goredis.Pipeliner) {
	from := len(b.args)
	b.args = append(b.args, "incrby", &cf.totalKey, cf.clicks)
	_ = pipeFor(cf.totalKey).Process(ctx, goredis.NewIntCmd(ctx, b.command(from)...))
	uv := b.ref(b.str(cf.uv))
	from = len(b.args)
	b.args = append(b.args, "pfadd", uv)
	for i := cf.first; ; i = b.next[i] {
		b.addVisitor(from+2, &b.clicks[i].Visitor)
		if i == cf.last {
			break
		}
	}
	_ = pipeFor(*uv).Process(ctx, goredis.NewIntCmd(ctx, b.command(from)...))
}

// addVisitor appends v to the visitors from args[from] on, unless it is
// among them already. A linear search is enough for the clicks of one
// code in one batch; past a few dozen distinct visitors the rest go
// unchecked (PFADD ignores repeats).
func (b *recordBatch) addVisitor(from int, v *string) {
	if seen := b.args[from:]; len(seen) <= 32 {
		for _, s := range seen {
			if *s.(*string) == *v {
				return
			}
		}
	}
	b.args = append(b.args, v)
}

// queueBucket queues the count and the TTL of an hourly bucket.
func (b *recordBatch) queueBucket(ctx context.Context, bc *bucketCount, pipeFor func(key string) goredis.Pipeliner) {
	key := b.ref(b.str(bc.key))
	pipe := pipeFor(*key)
	from := len(b.args)
	b.args = append(b.args, "incrby", key, bc.clicks)
	_ = pipe.Process(ctx, goredis.NewIntCmd(ctx, b.command(from)...))
	from = len(b.args)
	b.args = append(b.args, "expire", key, bucketTTLSeconds)
	_ = pipe.Process(ctx, goredis.NewBoolCmd(ctx, b.command(from)...))
}

// queueEntry queues the XADD of click i: sc, ip, ts, cid when it has an
// id, then the stream fields Curtain adds to the reference's, each only
// when the click has it: ua (User-Agent), ref (Referer), rule and target
// (the redirect rule that applied and its URL), cc (the ISO country code),
// and dev, br, os and bot (the User-Agent's class, sent in place of ua
// when privacy.store_user_agent is off). Readers that do not know them
// ignore them.
func (b *recordBatch) queueEntry(ctx context.Context, i int, pipeFor func(key string) goredis.Pipeliner) {
	ck := &b.clicks[i]
	cf := &b.codes[b.clickCode[i]]
	from := len(b.args)
	b.args = append(b.args, "xadd", &cf.streamKey, "*", "sc", &ck.Code, "ip", &ck.Visitor, "ts", b.ref(b.str(b.ts[i])))
	if ck.ID != "" {
		b.args = append(b.args, "cid", &ck.ID)
	}
	for _, f := range extraFields(ck) {
		if *f.value != "" {
			b.args = append(b.args, f.name, f.value)
		}
	}
	_ = pipeFor(cf.streamKey).Process(ctx, goredis.NewStringCmd(ctx, b.command(from)...))
}

// entryField is a stream entry field and the string of a click it holds.
type entryField struct {
	name  string
	value *string
}

// extraFields are the entry fields Curtain adds to the reference's (see
// queueEntry), bound to c: the writer reads them, the reader sets them.
func extraFields(c *core.Click) [9]entryField {
	return [...]entryField{{"ua", &c.UserAgent}, {"ref", &c.Referrer}, {"rule", &c.Rule}, {"target", &c.Target}, {"cc", &c.Country},
		{"dev", &c.Agent.Device}, {"br", &c.Agent.Browser}, {"os", &c.Agent.OS}, {"bot", &c.Agent.Bot}}
}

// unixHour returns the hours since the Unix epoch, rounded down.
func unixHour(t time.Time) int64 {
	sec := t.Unix()
	h := sec / 3600
	if sec%3600 < 0 {
		h--
	}
	return h
}

// appendUnixSeconds appends t as formatUnixSeconds formats it.
func appendUnixSeconds(dst []byte, t time.Time) []byte {
	sec, nsec := t.Unix(), t.Nanosecond()
	if sec < 0 && nsec > 0 {
		return strconv.AppendFloat(dst, float64(t.UnixNano())/1e9, 'f', -1, 64)
	}
	dst = strconv.AppendInt(dst, sec, 10)
	dst = append(dst, '.')
	if nsec == 0 {
		return append(dst, '0')
	}
	var frac [9]byte
	for i := 8; i >= 0; i-- {
		frac[i] = byte('0' + nsec%10)
		nsec /= 10
	}
	n := 9
	for frac[n-1] == '0' {
		n--
	}
	return append(dst, frac[:n]...)
}
