package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

var userCases = []testCase{
	{"CreateAndGet", testCreateGetUser},
	{"GetMissing", func(t *testing.T, s core.Store) {
		_, err := s.GetUser(t.Context(), 42)
		wantErr(t, "GetUser(42)", err, core.ErrNotFound)
	}},
	{"TimesRoundTripInMicrosecondsUTC", testUserTimes},
	{"List", testListUsers},
	{"Update", testUpdateUser},
	{"Delete", testDeleteUser},
	{"EmailTaken", testEmailTaken},
	{"InsertUsers", testInsertUsers},
	{"InsertUsersGeneratedOnEmptyTable", testInsertUsersGenerated},
	{"InsertUsersManyChunks", testInsertUsersChunks},
	{"InsertUsersEmpty", func(t *testing.T, s core.Store) {
		n, err := s.InsertUsers(t.Context(), nil)
		must(t, "InsertUsers(nil)", err)
		if n != 0 {
			t.Errorf("InsertUsers(nil) = %d, want 0", n)
		}
		u := newUser(t, s, "first")
		if u.ID != 1 {
			t.Errorf("first CreateUser after an empty InsertUsers got id %d, want 1", u.ID)
		}
	}},
}

func testCreateGetUser(t *testing.T, s core.Store) {
	ctx := t.Context()
	a := newUser(t, s, "alice")
	b := newUser(t, s, "bob")
	if a.ID != 1 || b.ID != 2 {
		t.Errorf("ids = %d, %d, want 1, 2", a.ID, b.ID)
	}
	got, err := s.GetUser(ctx, b.ID)
	must(t, "GetUser", err)
	diff(t, "GetUser", b, got)

	// A zero creation time is set to now.
	before := core.Now()
	c := core.User{Username: "carol", Email: "carol@example.com"}
	must(t, "CreateUser", s.CreateUser(ctx, &c))
	if c.CreatedAt.Before(before) || c.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want now in UTC", c.CreatedAt)
	}
}

func testUserTimes(t *testing.T, s core.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+5", 5*3600)
	tests := []struct {
		in   time.Time
		want time.Time
	}{
		{time.Date(2025, 6, 1, 17, 4, 5, 123456789, zone), time.Date(2025, 6, 1, 12, 4, 5, 123456000, time.UTC)},
		{time.Date(2025, 6, 1, 12, 4, 5, 1000, time.UTC), time.Date(2025, 6, 1, 12, 4, 5, 1000, time.UTC)},
		{time.Date(2025, 6, 1, 12, 4, 5, 0, time.UTC), time.Date(2025, 6, 1, 12, 4, 5, 0, time.UTC)},
		{time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
	}
	for _, tt := range tests {
		u := core.User{Username: "t", Email: "t@example.com", CreatedAt: tt.in}
		must(t, "CreateUser", s.CreateUser(ctx, &u))
		got, err := s.GetUser(ctx, u.ID)
		must(t, "GetUser", err)
		if !got.CreatedAt.Equal(tt.want) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt of %v read back as %v (%v), want %v UTC", tt.in, got.CreatedAt, got.CreatedAt.Location(), tt.want)
		}
		if !u.CreatedAt.Equal(tt.want) {
			t.Errorf("CreateUser set CreatedAt %v, want the stored %v", u.CreatedAt, tt.want)
		}
	}
}

func testListUsers(t *testing.T, s core.Store) {
	ctx := t.Context()
	for i := range 5 {
		newUser(t, s, fmt.Sprintf("user%d", i+1))
	}
	tests := []struct {
		page core.Page
		want []int64
	}{
		{core.Page{}, []int64{1, 2, 3, 4, 5}},
		{core.Page{Limit: 2}, []int64{1, 2}},
		{core.Page{Limit: 2, Offset: 2}, []int64{3, 4}},
		{core.Page{Limit: 2, Offset: 4}, []int64{5}},
		{core.Page{Offset: 3}, []int64{4, 5}},
		{core.Page{Limit: 10, Offset: 10}, []int64{}},
	}
	for _, tt := range tests {
		users, err := s.ListUsers(ctx, tt.page)
		must(t, "ListUsers", err)
		ids := []int64{}
		for _, u := range users {
			ids = append(ids, u.ID)
		}
		diff(t, fmt.Sprintf("ListUsers(%+v) ids", tt.page), tt.want, ids)
	}
	all, err := s.ListUsers(ctx, core.Page{})
	must(t, "ListUsers", err)
	if all[0].Username != "user1" || all[0].Email != "user1@example.com" || !all[0].CreatedAt.Equal(at(1, 12, 0, 0, 0)) {
		t.Errorf("ListUsers()[0] = %+v, want user1's fields", all[0])
	}
}

func testUpdateUser(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newUser(t, s, "alice")
	other := newUser(t, s, "bob")
	u.Username, u.Email = "alicia", "alicia@example.com"
	changed := u
	changed.CreatedAt = at(9, 9, 9, 9, 9) // not stored by UpdateUser
	must(t, "UpdateUser", s.UpdateUser(ctx, changed))
	got, err := s.GetUser(ctx, u.ID)
	must(t, "GetUser", err)
	diff(t, "updated user", u, got)
	gotOther, err := s.GetUser(ctx, other.ID)
	must(t, "GetUser", err)
	diff(t, "other user", other, gotOther)

	err = s.UpdateUser(ctx, core.User{ID: 99, Username: "x", Email: "x@example.com"})
	wantErr(t, "UpdateUser(99)", err, core.ErrNotFound)
}

func testDeleteUser(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newUser(t, s, "alice")
	keep := newUser(t, s, "bob")
	owned := newURL(t, s, "own001", &u.ID)
	kept := newURL(t, s, "own002", &keep.ID)
	ev := newEvent(t, s, owned.ID, &u.ID, core.EventClick, at(3, 1, 0, 0, 0))
	evKeep := newEvent(t, s, owned.ID, &keep.ID, core.EventClick, at(3, 1, 0, 0, 0))

	must(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	_, err := s.GetUser(ctx, u.ID)
	wantErr(t, "GetUser of deleted user", err, core.ErrNotFound)

	gotURL, err := s.GetURL(ctx, owned.ID)
	must(t, "GetURL", err)
	owned.UserID = nil
	diff(t, "URL of deleted user", owned, gotURL)
	gotKept, err := s.GetURL(ctx, kept.ID)
	must(t, "GetURL", err)
	diff(t, "URL of other user", kept, gotKept)

	gotEv, err := s.GetEvent(ctx, ev.ID)
	must(t, "GetEvent", err)
	ev.UserID = nil
	diff(t, "event of deleted user", ev, gotEv)
	gotEvKeep, err := s.GetEvent(ctx, evKeep.ID)
	must(t, "GetEvent", err)
	diff(t, "event of other user", evKeep, gotEvKeep)

	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, u.ID), core.ErrNotFound)
	wantErr(t, "DeleteUser(99)", s.DeleteUser(ctx, 99), core.ErrNotFound)
}

func testEmailTaken(t *testing.T, s core.Store) {
	ctx := t.Context()
	newUser(t, s, "alice")
	tests := []struct {
		email string
		want  bool
	}{
		{"alice@example.com", true},
		{"Alice@example.com", false},
		{"alice@example.co", false},
		{"", false},
	}
	for _, tt := range tests {
		got, err := s.EmailTaken(ctx, tt.email)
		must(t, "EmailTaken", err)
		if got != tt.want {
			t.Errorf("EmailTaken(%q) = %v, want %v", tt.email, got, tt.want)
		}
	}
}

func testInsertUsers(t *testing.T, s core.Store) {
	ctx := t.Context()
	existing := newUser(t, s, "alice") // id 1
	batch := []core.User{
		{ID: 5, Username: "five", Email: "dup@example.com", CreatedAt: at(1, 5, 0, 0, 0)},
		{Username: "generated1", Email: "g1@example.com", CreatedAt: at(1, 6, 0, 0, 0)},
		{ID: 3, Username: "three", Email: "dup@example.com", CreatedAt: at(1, 3, 0, 0, 0)},
		{ID: 1, Username: "clash", Email: "clash@example.com", CreatedAt: at(1, 1, 0, 0, 0)},
		{Username: "generated2", Email: "g2@example.com"},
	}
	n, err := s.InsertUsers(ctx, batch)
	must(t, "InsertUsers", err)
	if n != 4 {
		t.Errorf("InsertUsers = %d, want 4 (id 1 exists)", n)
	}
	got, err := s.GetUser(ctx, 1)
	must(t, "GetUser(1)", err)
	diff(t, "existing user 1", existing, got)
	five, err := s.GetUser(ctx, 5)
	must(t, "GetUser(5)", err)
	diff(t, "user 5", batch[0], five)

	users, err := s.ListUsers(ctx, core.Page{})
	must(t, "ListUsers", err)
	names := map[int64]string{}
	for _, u := range users {
		names[u.ID] = u.Username
	}
	// Generated ids come after the explicit ones.
	diff(t, "users by id", map[int64]string{1: "alice", 3: "three", 5: "five", 6: "generated1", 7: "generated2"}, names)

	n, err = s.InsertUsers(ctx, batch[:1])
	must(t, "InsertUsers again", err)
	if n != 0 {
		t.Errorf("InsertUsers of an existing id = %d, want 0", n)
	}
	next := newUser(t, s, "next")
	if next.ID != 8 {
		t.Errorf("CreateUser after InsertUsers got id %d, want 8", next.ID)
	}
}

func testInsertUsersGenerated(t *testing.T, s core.Store) {
	ctx := t.Context()
	n, err := s.InsertUsers(ctx, []core.User{
		{Username: "a", Email: "a@example.com"},
		{Username: "b", Email: "b@example.com"},
	})
	must(t, "InsertUsers", err)
	if n != 2 {
		t.Errorf("InsertUsers = %d, want 2", n)
	}
	users, err := s.ListUsers(ctx, core.Page{})
	must(t, "ListUsers", err)
	if len(users) != 2 || users[0].ID != 1 || users[1].ID != 2 {
		t.Fatalf("users = %+v, want ids 1 and 2", users)
	}
	if users[0].CreatedAt.IsZero() {
		t.Errorf("CreatedAt of a generated row is zero, want now")
	}
	if u := newUser(t, s, "c"); u.ID != 3 {
		t.Errorf("next CreateUser got id %d, want 3", u.ID)
	}
}

func testInsertUsersChunks(t *testing.T, s core.Store) {
	ctx := t.Context()
	var batch []core.User
	for i := range 250 {
		batch = append(batch, core.User{ID: int64(i + 1), Username: fmt.Sprint("u", i), Email: "same@example.com", CreatedAt: at(1, 0, 0, 0, i)})
	}
	n, err := s.InsertUsers(ctx, batch)
	must(t, "InsertUsers", err)
	if n != 250 {
		t.Errorf("InsertUsers of 250 rows = %d, want 250", n)
	}
	u, err := s.GetUser(ctx, 250)
	must(t, "GetUser(250)", err)
	diff(t, "user 250", batch[249], u)
	if next := newUser(t, s, "next"); next.ID != 251 {
		t.Errorf("next CreateUser got id %d, want 251", next.ID)
	}
}
