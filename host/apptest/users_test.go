package apptest_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/curtainhq/curtain/core"
)

func userJSON(id int64, name, email, created string) string {
	return fmt.Sprintf(`{"created_at":%q,"email":%q,"id":%d,"username":%q}`, created, email, id, name)
}

func testUsersList(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	e.get("/users").want(t, "empty list", http.StatusOK, "[]\n")
	a, b, c := e.user("alpha"), e.user("beta"), e.user("gamma")
	js := func(us ...core.User) string {
		var parts []string
		for _, u := range us {
			parts = append(parts, userJSON(u.ID, u.Username, u.Email, "2026-01-03T08:30:00"))
		}
		return "[" + strings.Join(parts, ",") + "]\n"
	}
	tests := []struct {
		query string
		want  string
	}{
		{"", js(a, b, c)},
		{"?page=1&per_page=1", js(a)}, // spec §16 test 96
		{"?page=2&per_page=1", js(b)},
		{"?per_page=2", js(a, b)},
		{"?page=2", "[]\n"},
		{"?page=0&per_page=0", js(a, b, c)},
		{"?page=abc", js(a, b, c)},
		{"?page=&per_page=x", js(a, b, c)},
		{"?page=%2B2&per_page=1_0", "[]\n"},
		{"?page=%202%20&per_page=1", js(b)},
		{"?page=99999999999999999999&per_page=99999999999999999999", "[]\n"},
		{"?page=1&per_page=99999999999999999999", js(a, b, c)},
	}
	for _, tt := range tests {
		e.get("/users"+tt.query).want(t, "GET /users"+tt.query, http.StatusOK, tt.want)
	}
	for _, q := range []string{"?page=-1", "?per_page=-5", "?page=-1&per_page=abc", "?page=-99999999999999999999"} {
		e.get("/users"+q).wantError(t, "GET /users"+q, http.StatusBadRequest, "Pagination parameters must be positive integers")
	}
	// spec §16 test 97
	e.get(fmt.Sprintf("/users/%d", a.ID)).want(t, "GET /users/<id>", http.StatusOK, userJSON(a.ID, "alpha", "alpha@example.com", "2026-01-03T08:30:00")+"\n")
	e.get("/users/999").wantError(t, "unknown user", http.StatusNotFound, "User not found")
}

func testUsersCreate(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	e.user("shared")
	// spec §16 test 99
	r := e.postJSON("/users", `{"username":"testuser","email":"testuser@example.com"}`)
	var got struct {
		ID        int64
		Username  string
		Email     string
		CreatedAt string `json:"created_at"`
	}
	r.decode(t, &got)
	if r.Status != http.StatusCreated || got.ID < 1 || got.Username != "testuser" || got.Email != "testuser@example.com" || !strings.Contains(got.CreatedAt, "T") {
		t.Errorf("POST /users = %d %s", r.Status, r.Body)
	}

	long := strings.Repeat("u", 121)
	tests := []struct {
		name, body, ct string
		field, message string
	}{
		{"username not a string (test 98)", `{"username":123,"email":"testuser@example.com"}`, "", "username", "Field 'username' must be a string"},
		{"invalid email (test 101)", `{"username":"x","email":"notanemail"}`, "", "email", "Field 'email' must be a valid email address"},
		{"email unique (test 102)", `{"username":"x","email":"shared@example.com"}`, "", "email", "Field 'email' must be unique"},
		{"email unique after trim", `{"username":"x","email":"  shared@example.com\t"}`, "", "email", "Field 'email' must be unique"},
		{"no body", ``, "", "request", "JSON body must be an object"},
		{"array", `[]`, "", "request", "JSON body must be an object"},
		{"malformed", `{"username":`, "", "request", "JSON body must be an object"},
		{"text/plain", `{"username":"x","email":"x@y.z"}`, "text/plain", "request", "JSON body must be an object"},
		{"missing username", `{"email":"x@y.z"}`, "", "username", "Field 'username' is required"},
		{"missing email", `{"username":"x"}`, "", "email", "Field 'email' is required"},
		{"missing both", `{}`, "", "username", "Field 'username' is required"},
		{"username null", `{"username":null,"email":"x@y.z"}`, "", "username", "Field 'username' must be a string"},
		{"username blank", `{"username":" \u00a0\u001c ","email":"x@y.z"}`, "", "username", "Field 'username' must not be empty"},
		{"email not a string", `{"username":"x","email":true}`, "", "email", "Field 'email' must be a string"},
		{"email blank", `{"username":"x","email":""}`, "", "email", "Field 'email' must not be empty"},
		{"email without dot after @", `{"username":"x","email":"a.b@c"}`, "", "email", "Field 'email' must be a valid email address"},
		{"username too long", `{"username":"` + long + `","email":"x@y.z"}`, "", "username", "Field 'username' must not exceed 120 characters"},
		{"email too long", `{"username":"x","email":"a@` + strings.Repeat("b", 250) + `.com"}`, "", "email", "Field 'email' must not exceed 255 characters"},
		{"username with NUL", `{"username":"a\u0000b","email":"x@y.z"}`, "", "username", "Field 'username' must not contain NUL characters"},
		// The reference's own checks answer before its database refused a
		// long username (Q11): the email's form, then its uniqueness.
		{"long username, invalid email", `{"username":"` + long + `","email":"x"}`, "", "email", "Field 'email' must be a valid email address"},
		{"long username, email taken", `{"username":"` + long + `","email":"shared@example.com"}`, "", "email", "Field 'email' must be unique"},
		{"long invalid email", `{"username":"x","email":"` + strings.Repeat("b", 300) + `"}`, "", "email", "Field 'email' must be a valid email address"},
		{"NUL username, email taken", `{"username":"a\u0000b","email":"shared@example.com"}`, "", "email", "Field 'email' must be unique"},
	}
	for _, tt := range tests {
		ct := tt.ct
		if ct == "" {
			ct = "application/json"
		}
		e.do("POST", "/users", tt.body, "Content-Type", ct).want(t, tt.name, http.StatusUnprocessableEntity, errorsJSON(tt.field, tt.message))
	}
	// Trimmed, extra keys ignored, the loosest valid email, 120 characters.
	ok := strings.Repeat("é", 120)
	r = e.postJSON("/users", `{"username":"\u3000`+ok+` ","email":" @. ","extra":[1]}`)
	r.decode(t, &got)
	if r.Status != http.StatusCreated || got.Username != ok || got.Email != "@." {
		t.Errorf("POST /users trimmed = %d %s", r.Status, r.Body)
	}
}

func testUsersUpdate(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	u := e.user("lookup")
	other := e.user("other")
	path := fmt.Sprintf("/users/%d", u.ID)
	// spec §16 test 100
	e.putJSON(path, `{"username":"updated_username"}`).want(t, "PUT username", http.StatusOK,
		userJSON(u.ID, "updated_username", "lookup@example.com", "2026-01-03T08:30:00")+"\n")
	e.putJSON(path, `{}`).want(t, "PUT {}", http.StatusOK,
		userJSON(u.ID, "updated_username", "lookup@example.com", "2026-01-03T08:30:00")+"\n")
	// No uniqueness check on update (Q8, kept).
	e.putJSON(path, `{"email":" other@example.com ","ignored":1}`).want(t, "PUT duplicate email", http.StatusOK,
		userJSON(u.ID, "updated_username", other.Email, "2026-01-03T08:30:00")+"\n")
	e.putJSON("/users/999", `garbage`).wantError(t, "unknown user before body", http.StatusNotFound, "User not found")
	tests := []struct{ name, body, field, message string }{
		{"no body", ``, "request", "JSON body must be an object"},
		{"not an object", `"x"`, "request", "JSON body must be an object"},
		{"username number", `{"username":5}`, "username", "Field 'username' must be a string"},
		{"username blank", `{"username":"  "}`, "username", "Field 'username' must not be empty"},
		{"email invalid", `{"email":"x"}`, "email", "Field 'email' must be a valid email address"},
		{"email null", `{"email":null}`, "email", "Field 'email' must be a string"},
		{"username too long", `{"username":"` + strings.Repeat("x", 121) + `"}`, "username", "Field 'username' must not exceed 120 characters"},
		{"long username, invalid email", `{"username":"` + strings.Repeat("x", 121) + `","email":"x"}`, "email", "Field 'email' must be a valid email address"},
	}
	for _, tt := range tests {
		e.putJSON(path, tt.body).want(t, tt.name, http.StatusUnprocessableEntity, errorsJSON(tt.field, tt.message))
	}
}

func testUsersDelete(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	u := e.user("doomed")
	link := e.url("own001", "https://example.com/owned", &u.ID, true)
	ev := e.event(link.ID, &u.ID, "click", t0, `{}`)
	linkPath := fmt.Sprintf("/urls/%d", link.ID)
	ownList := fmt.Sprintf("/urls?user_id=%d", u.ID)
	// Warm the caches that show the owner.
	e.get(linkPath).wantCache(t, "warm detail", "MISS")
	e.get(ownList).wantCache(t, "warm user list", "MISS")
	e.get("/urls").wantCache(t, "warm list", "MISS")

	// spec §16 test 103
	e.do("DELETE", fmt.Sprintf("/users/%d", u.ID), "").want(t, "DELETE user", http.StatusNoContent, "")
	e.get(fmt.Sprintf("/users/%d", u.ID)).wantError(t, "deleted user", http.StatusNotFound, "User not found")
	e.do("DELETE", fmt.Sprintf("/users/%d", u.ID), "").wantError(t, "DELETE again", http.StatusNotFound, "User not found")

	// References are cleared and the caches invalidated (fix of Q7).
	link.UserID = nil
	r := e.get(linkPath)
	r.want(t, "detail after delete", http.StatusOK, urlJSON(link)+"\n")
	r.wantCache(t, "detail after delete", "MISS")
	r = e.get(ownList)
	r.want(t, "user list after delete", http.StatusOK, "[]\n")
	r.wantCache(t, "user list after delete", "MISS")
	e.get("/urls").want(t, "list after delete", http.StatusOK, "["+urlJSON(link)+"]\n")
	r = e.get(fmt.Sprintf("/events/%d", ev.ID))
	if !strings.Contains(r.Body, `"user_id":null`) {
		t.Errorf("event after user delete = %s, want user_id null", r.Body)
	}
}

// multipartBody builds a multipart form with one file part.
func multipartBody(t *testing.T, field, filename, content string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if field != "" {
		fw, err := w.CreateFormFile(field, filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(content))
	}
	w.WriteField("other", "value")
	w.Close()
	return buf.String(), w.FormDataContentType()
}

func (e *env) upload(field, filename, content string) result {
	e.t.Helper()
	body, ct := multipartBody(e.t, field, filename, content)
	return e.do("POST", "/users/bulk", body, "Content-Type", ct)
}

func testUsersBulk(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{maxUpload: 64 << 10})
	// spec §16 test 95
	e.upload("file", "users.csv", "username,email,created_at\nalpha,alpha@example.com,2026-01-01 10:00:00\nbeta,beta@example.com,\n").
		want(t, "two rows", http.StatusCreated, `{"count":2}`+"\n")
	var users []map[string]any
	e.get("/users").decode(t, &users)
	if len(users) != 2 || users[0]["created_at"] != "2026-01-01T10:00:00" {
		t.Errorf("users after import = %v", users)
	}

	tests := []struct {
		name, field, filename, content string
		status                         int
		body                           string
	}{
		{"no file part", "", "", "", 400, errJSON("Field 'file' is required")},
		{"empty filename", "file", "", "username,email\na,a@b.c\n", 400, errJSON("Field 'file' is required")},
		{"other part name", "upload", "u.csv", "username,email\na,a@b.c\n", 400, errJSON("Field 'file' is required")},
		{"header only", "file", "u.csv", "username,email\n", 200, `{"count":0}` + "\n"},
		{"empty file", "file", "u.csv", "", 200, `{"count":0}` + "\n"},
		{"missing email", "file", "u.csv", "username,email\nann,\n", 400, errJSON("CSV rows must include username and email")},
		{"missing column", "file", "u.csv", "username\nann\n", 400, errJSON("CSV rows must include username and email")},
		{"bad created_at (Q31)", "file", "u.csv", "username,email,created_at\nann,a@b.c,yesterday\n", 400, errJSON("CSV line 2: created_at must be a time like 2006-01-02 15:04:05")},
		{"created_at in year 0", "file", "u.csv", "username,email,created_at\nann,a@b.c,0000-06-01 00:00:00\n", 400, errJSON("CSV line 2: created_at must be between 0001-01-01T00:00:00 and 9999-12-31T23:59:59 (UTC)")},
		{"bad id (Q31)", "file", "u.csv", "id,username,email\n1,a,a@b.c\nx,b,b@c.d\n", 400, errJSON("CSV line 3: id must be a non-zero integer between -2147483648 and 1073741823")},
		{"id leaving the sequence no room (issue 15)", "file", "u.csv", "id,username,email\n2147483647,a,a@b.c\n", 400, errJSON("CSV line 2: id must be a non-zero integer between -2147483648 and 1073741823")},
		{"id beyond int4", "file", "u.csv", "id,username,email\n2147483648,a,a@b.c\n", 400, errJSON("CSV line 2: id must be a non-zero integer between -2147483648 and 1073741823")},
		{"invalid UTF-8", "file", "u.csv", "username,email\nb\xffb,b@x.io\n", 400, errJSON("CSV file must be UTF-8 encoded")},
		{"NUL", "file", "u.csv", "username,email\na\x00b,b@x.io\n", 400, errJSON("CSV line 2: values must not contain NUL characters")},
		// The reference refused a row without an email before a bad
		// created_at of a later row and before its database refused a
		// long username (spec §4.6).
		{"missing email, then bad created_at", "file", "u.csv", "username,email,created_at\nann,,\nbob,b@x.io,yesterday\n", 400, errJSON("CSV rows must include username and email")},
		{"long username, then missing email", "file", "u.csv", "username,email\n" + strings.Repeat("u", 121) + ",a@b.c\nbob,\n", 400, errJSON("CSV rows must include username and email")},
		{"too large", "file", "u.csv", "username,email\n" + strings.Repeat("a,a@b.c\n", 10000), 413, errJSON("Request body too large")},
	}
	for _, tt := range tests {
		e.upload(tt.field, tt.filename, tt.content).want(t, tt.name, tt.status, tt.body)
	}
	e.do("POST", "/users/bulk", `{"file":"x"}`, "Content-Type", "application/json").wantError(t, "not multipart", 400, "Field 'file' is required")
	e.get("/users").decode(t, &users)
	if len(users) != 2 {
		t.Errorf("failed imports wrote rows: %d users", len(users))
	}

	t.Run("negative id listed first", func(t *testing.T) {
		// An import keeps explicit ids, negative ones too; the list of
		// every user (spec §4.7: by id, no limit) shows them first.
		e.upload("file", "neg.csv", "id,username,email\n-5,neg,neg@example.com\n").want(t, "negative id", http.StatusCreated, `{"count":1}`+"\n")
		var all []struct {
			ID int64 `json:"id"`
		}
		e.get("/users").decode(t, &all)
		if len(all) != 3 || all[0].ID != -5 {
			t.Errorf("GET /users after importing id -5 = %v, want 3 users, -5 first", all)
		}
	})

	t.Run("seed file", func(t *testing.T) {
		seed, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "seed-data", "users.csv"))
		if os.IsNotExist(err) {
			t.Skip("seed data ../../../shared/seed-data/users.csv is absent")
		}
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, newStore, envConfig{})
		e.upload("file", "users.csv", string(seed)).want(t, "seed import", http.StatusCreated, `{"count":400}`+"\n")
		e.upload("file", "users.csv", string(seed)).want(t, "seed import again", http.StatusOK, `{"count":0}`+"\n")
		var users []map[string]any
		e.get("/users").decode(t, &users)
		if len(users) != 400 {
			t.Errorf("%d users after seeding, want 400", len(users))
		}
		// The id sequence moved past the explicit ids.
		r := e.postJSON("/users", `{"username":"next","email":"next@example.com"}`)
		if r.Status != http.StatusCreated || !strings.Contains(r.Body, `"id":401`) {
			t.Errorf("POST /users after seeding = %d %s, want id 401", r.Status, r.Body)
		}
		// Seed user 300 shares an email with user 284 (spec §3.1).
		e.postJSON("/users", `{"username":"dup","email":"embercanyon83@example.com"}`).
			want(t, "seeded duplicate email", http.StatusUnprocessableEntity, errorsJSON("email", "Field 'email' must be unique"))
	})
}
