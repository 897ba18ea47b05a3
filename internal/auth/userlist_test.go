package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func testList(t testing.TB) *Userlist {
	l := NewUserlist("L")
	for _, line := range []string{
		"alice password $5$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1.",
		"dave insecure-password plain groups ops",
	} {
		u, err := ParseUser(strings.Fields(line))
		if err != nil {
			t.Fatal(err)
		}
		l.Users[u.Name] = u
	}
	if err := l.Link(map[string][]string{"admins": {"alice"}, "ops": nil}); err != nil {
		t.Fatal(err)
	}
	return l
}

func basic(cred string) []byte {
	return []byte("Basic " + base64.StdEncoding.EncodeToString([]byte(cred)))
}

func TestAuthenticate(t *testing.T) {
	l := testList(t)
	var scratch []byte
	for _, c := range []struct {
		authz []byte
		user  string
	}{
		{basic("alice:s3cret"), "alice"},
		{basic("alice:s3cret"), "alice"}, // cached
		{basic("alice:s3cre"), ""},
		{basic("dave:plain"), "dave"},
		{basic("dave:plai"), ""},
		{basic("nobody:plain"), ""},
		{basic("dave"), ""},
		{[]byte("Bearer abc"), ""},
		{[]byte("basic " + base64.StdEncoding.EncodeToString([]byte("dave:plain"))), "dave"},
		{[]byte("Basic !!!"), ""},
		{[]byte("Basic"), ""},
	} {
		u := l.Authenticate(c.authz, &scratch)
		got := ""
		if u != nil {
			got = u.Name
		}
		if got != c.user {
			t.Errorf("%q: user %q, want %q", c.authz, got, c.user)
		}
	}
	if len(l.known) != 3 {
		t.Errorf("cache holds %d entries, want the 3 successes", len(l.known))
	}
	if g := l.Users["alice"].Groups; len(g) != 1 || g[0] != "admins" {
		t.Errorf("alice's groups %v", g)
	}
}

func TestAuthenticateCacheBounded(t *testing.T) {
	l := testList(t)
	var scratch []byte
	for i := range cacheMax + 10 {
		// "Basic" is case-insensitive and the spaces after it are
		// skipped: many distinct values for one user
		authz := append([]byte("Basic"+strings.Repeat(" ", i+1)), basic("dave:plain")[6:]...)
		if l.Authenticate(authz, &scratch) == nil {
			t.Fatalf("value %d refused", i)
		}
		scratch = scratch[:0]
	}
	if len(l.known) > cacheMax {
		t.Errorf("cache grew to %d entries", len(l.known))
	}
}

func TestParseUser(t *testing.T) {
	for line, want := range map[string]string{
		"":                          "'user' expects <name>",
		"a":                         "neither 'password' nor 'insecure-password'",
		"a password $2y$10$x":       "unsupported password hash",
		"a password":                "'password' expects a value",
		"a insecure-password x y z": "unknown argument 'y'",
	} {
		if _, err := ParseUser(strings.Fields(line)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", line, err, want)
		}
	}
}

func FuzzAuthenticate(f *testing.F) {
	f.Add(basic("alice:s3cret"))
	f.Add([]byte("Basic ZGF2ZTpwbGFpbg=="))
	l := testList(f)
	f.Fuzz(func(t *testing.T, authz []byte) {
		var scratch []byte
		l.Authenticate(authz, &scratch)
	})
}
