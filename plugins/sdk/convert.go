package sdk

import (
	"math"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/curtainhq/curtain/core"
	alertsinkv1 "github.com/curtainhq/curtain/plugins/proto/alertsink/v1"
	cachev1 "github.com/curtainhq/curtain/plugins/proto/cache/v1"
	clickshardv1 "github.com/curtainhq/curtain/plugins/proto/clickshard/v1"
)

// Conversions between core types and their protobuf messages. Times cross
// the wire as timestamps and come back in UTC (the zero time is an unset
// timestamp); durations as durations (zero is unset); an empty map or byte
// slice comes back nil.

func timeToProto(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeFromProto(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func durationToProto(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func durationFromProto(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

// clampInt32 narrows n to the int32 range instead of wrapping around.
func clampInt32(n int) int32 {
	return int32(max(min(n, math.MaxInt32), math.MinInt32))
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func mapOrNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func clickFromProto(c *clickshardv1.Click) core.Click {
	return core.Click{ID: c.GetId(), Code: c.GetCode(), Visitor: c.GetVisitor(), At: timeFromProto(c.GetAt()), Stored: c.GetStored(),
		UserAgent: c.GetUserAgent(), Referrer: c.GetReferrer(), Rule: c.GetRule(), Target: c.GetTarget(), Country: c.GetCountry(),
		Agent: core.AgentClass{Device: c.GetUaDevice(), Browser: c.GetUaBrowser(), OS: c.GetUaOs(), Bot: c.GetUaBot()}}
}

// clickExtras is the number of optional string fields of a click.
const clickExtras = 9

// setClickExtras sets the optional fields of m (contracts v1.3 and v1.6)
// that c has: an empty field stays absent on the wire. The values are
// kept in the batch's array a, one allocation for the batch instead of
// one each.
func setClickExtras(m *clickshardv1.Click, c core.Click, a *optStrings) {
	m.UserAgent, m.Referrer, m.Rule, m.Target = a.ptr(c.UserAgent), a.ptr(c.Referrer), a.ptr(c.Rule), a.ptr(c.Target)
	m.Country = a.ptr(c.Country)
	m.UaDevice, m.UaBrowser, m.UaOs, m.UaBot = a.ptr(c.Agent.Device), a.ptr(c.Agent.Browser), a.ptr(c.Agent.OS), a.ptr(c.Agent.Bot)
}

// optStrings holds the optional string fields of a batch's messages.
type optStrings []string

// newOptStrings returns room for the optional fields of n clicks.
func newOptStrings(n int) optStrings { return make(optStrings, 0, n*clickExtras) }

// ptr returns nil for "", else a pointer to a copy of s kept in a. A
// pointer stays valid and unchanged even if a has to grow.
func (a *optStrings) ptr(s string) *string {
	if s == "" {
		return nil
	}
	*a = append(*a, s)
	return &(*a)[len(*a)-1]
}

// clicksToProto converts a batch with four allocations, not several per
// click: the messages, their timestamps and their optional strings each
// come from one array.
func clicksToProto(cs []core.Click) []*clickshardv1.Click {
	if len(cs) == 0 {
		return nil
	}
	out := make([]*clickshardv1.Click, len(cs))
	msgs := make([]clickshardv1.Click, len(cs))
	stamps := make([]timestamppb.Timestamp, len(cs))
	extras := newOptStrings(len(cs))
	for i, c := range cs {
		m := &msgs[i]
		m.Id, m.Code, m.Visitor, m.Stored = c.ID, c.Code, c.Visitor, c.Stored
		setClickExtras(m, c, &extras)
		m.At = setTimestamp(&stamps[i], c.At)
		out[i] = m
	}
	return out
}

// setTimestamp fills ts with t and returns it, or returns nil for the zero
// time, as timeToProto does.
func setTimestamp(ts *timestamppb.Timestamp, t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
	return ts
}

func clicksFromProto(cs []*clickshardv1.Click) []core.Click {
	if len(cs) == 0 {
		return nil
	}
	out := make([]core.Click, len(cs))
	for i, c := range cs {
		out[i] = clickFromProto(c)
	}
	return out
}

func statsRequestToProto(r core.StatsRequest) *clickshardv1.StatsRequest {
	return &clickshardv1.StatsRequest{Code: r.Code, Now: timeToProto(r.Now), Hours: clampInt32(r.Hours), Parts: uint32(r.Parts)}
}

func statsRequestFromProto(r *clickshardv1.StatsRequest) core.StatsRequest {
	return core.StatsRequest{Code: r.GetCode(), Now: timeFromProto(r.GetNow()), Hours: int(r.GetHours()), Parts: core.StatsParts(r.GetParts() & uint32(core.StatsAll))}
}

func statsToProto(s core.ShardStats) *clickshardv1.StatsResponse {
	return &clickshardv1.StatsResponse{Total: s.Total, Hourly: s.Hourly, Visitors: nilIfEmpty(s.Visitors), Pending: s.Pending,
		PendingLatest: timeToProto(s.PendingLatest)}
}

func statsFromProto(s *clickshardv1.StatsResponse) core.ShardStats {
	return core.ShardStats{Total: s.GetTotal(), Hourly: s.GetHourly(), Visitors: nilIfEmpty(s.GetVisitors()), Pending: s.GetPending(),
		PendingLatest: timeFromProto(s.GetPendingLatest())}
}

func readRequestToProto(r core.ReadRequest) *clickshardv1.ReadRequest {
	return &clickshardv1.ReadRequest{
		Group:    r.Group,
		Consumer: r.Consumer,
		Count:    clampInt32(r.Count),
		Block:    durationToProto(r.Block),
		MinIdle:  durationToProto(r.MinIdle),
	}
}

func readRequestFromProto(r *clickshardv1.ReadRequest) core.ReadRequest {
	return core.ReadRequest{
		Group:    r.GetGroup(),
		Consumer: r.GetConsumer(),
		Count:    int(r.GetCount()),
		Block:    durationFromProto(r.GetBlock()),
		MinIdle:  durationFromProto(r.GetMinIdle()),
	}
}

func deliveriesToProto(ds []core.Delivery) []*clickshardv1.Delivery {
	if len(ds) == 0 {
		return nil
	}
	out := make([]*clickshardv1.Delivery, len(ds))
	msgs := make([]clickshardv1.Delivery, len(ds))
	clicks := make([]clickshardv1.Click, len(ds))
	stamps := make([]timestamppb.Timestamp, len(ds))
	extras := newOptStrings(len(ds))
	for i, d := range ds {
		c := &clicks[i]
		c.Id, c.Code, c.Visitor, c.Stored = d.Click.ID, d.Click.Code, d.Click.Visitor, d.Click.Stored
		setClickExtras(c, d.Click, &extras)
		c.At = setTimestamp(&stamps[i], d.Click.At)
		msgs[i].Id, msgs[i].Click = d.ID, c
		out[i] = &msgs[i]
	}
	return out
}

func deliveriesFromProto(ds []*clickshardv1.Delivery) []core.Delivery {
	if len(ds) == 0 {
		return nil
	}
	out := make([]core.Delivery, len(ds))
	for i, d := range ds {
		out[i] = core.Delivery{ID: d.GetId(), Click: clickFromProto(d.GetClick())}
	}
	return out
}

func ackRequestToProto(r core.AckRequest) *clickshardv1.AckRequest {
	out := &clickshardv1.AckRequest{Group: r.Group}
	for _, id := range r.IDs {
		out.Ids = append(out.Ids, &clickshardv1.DeliveryID{Code: id.Code, Id: id.ID})
	}
	return out
}

func ackRequestFromProto(r *clickshardv1.AckRequest) core.AckRequest {
	out := core.AckRequest{Group: r.GetGroup()}
	for _, id := range r.GetIds() {
		out.IDs = append(out.IDs, core.DeliveryID{Code: id.GetCode(), ID: id.GetId()})
	}
	return out
}

func entriesToProto(es []core.CacheEntry) []*cachev1.Entry {
	if len(es) == 0 {
		return nil
	}
	out := make([]*cachev1.Entry, len(es))
	for i, e := range es {
		out[i] = &cachev1.Entry{Key: e.Key, Value: e.Value, Ttl: durationToProto(e.TTL)}
	}
	return out
}

func entriesFromProto(es []*cachev1.Entry) []core.CacheEntry {
	if len(es) == 0 {
		return nil
	}
	out := make([]core.CacheEntry, len(es))
	for i, e := range es {
		out[i] = core.CacheEntry{Key: e.GetKey(), Value: e.GetValue(), TTL: durationFromProto(e.GetTtl())}
	}
	return out
}

// cacheValues makes every hit's value non-nil, so that a hit with an empty
// value stays distinguishable from a miss after crossing the wire.
func cacheValues(m map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		if v == nil {
			v = []byte{}
		}
		out[k] = v
	}
	return out
}

func alertToProto(a core.Alert) *alertsinkv1.Alert {
	return &alertsinkv1.Alert{
		Status:      a.Status,
		Labels:      mapOrNil(a.Labels),
		Annotations: mapOrNil(a.Annotations),
		ActiveAt:    timeToProto(a.ActiveAt),
		Value:       a.Value,
		Fingerprint: a.Fingerprint,
	}
}

func alertFromProto(a *alertsinkv1.Alert) core.Alert {
	return core.Alert{
		Status:      a.GetStatus(),
		Labels:      mapOrNil(a.GetLabels()),
		Annotations: mapOrNil(a.GetAnnotations()),
		ActiveAt:    timeFromProto(a.GetActiveAt()),
		Value:       a.GetValue(),
		Fingerprint: a.GetFingerprint(),
	}
}

func alertsToProto(as []core.Alert) []*alertsinkv1.Alert {
	if len(as) == 0 {
		return nil
	}
	out := make([]*alertsinkv1.Alert, len(as))
	for i, a := range as {
		out[i] = alertToProto(a)
	}
	return out
}

func alertsFromProto(as []*alertsinkv1.Alert) []core.Alert {
	if len(as) == 0 {
		return nil
	}
	out := make([]core.Alert, len(as))
	for i, a := range as {
		out[i] = alertFromProto(a)
	}
	return out
}
