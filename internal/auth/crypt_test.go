package auth

import (
	"strings"
	"testing"
)

// Vectors from Drepper's SHA-crypt specification, the FreeBSD MD5-crypt
// test, and hashes made by "openssl passwd -1|-5|-6".
func TestCrypt(t *testing.T) {
	for _, c := range []struct{ pw, setting, want string }{
		{"Hello world!", "$5$saltstring", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"Hello world!", "$5$rounds=5000$saltstring", "$5$rounds=5000$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"Hello world!", "$5$rounds=10000$saltstringsaltstring", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
		{"This is just a test", "$5$rounds=5000$toolongsaltstring", "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"},
		{"a very much longer text to encrypt.  This one even stretches over morethan one line.", "$5$rounds=1400$anotherlongsaltstring", "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"},
		{"we have a short salt string but not a short password", "$5$rounds=77777$short", "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/"},
		{"the minimum number is still observed", "$5$rounds=10$roundstoolow", "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"},
		{"Hello world!", "$6$saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"Hello world!", "$6$rounds=10000$saltstringsaltstring", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
		{"This is just a test", "$6$rounds=5000$toolongsaltstring", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
		{"a very much longer text to encrypt.  This one even stretches over morethan one line.", "$6$rounds=1400$anotherlongsaltstring", "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
		{"the minimum number is still observed", "$6$rounds=10$roundstoolow", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
		{"0.s0.l33t", "$1$deadbeef$", "$1$deadbeef$0Huu6KHrKLVWfqa4WljDE0"},
		{"pw1", "$1$xyz$", "$1$xyz$unEmvaPYTZ4OLu3M.GO.z1"},
		{"s3cret", "$5$saltsalt$", "$5$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1."},
		{"pw6", "$6$abcdefgh$", "$6$abcdefgh$AmG/p6USYTDnD0i9OnzSKPHywtVj65aAr9wlivj4RTvOTk7KtUVA.oTYWoSPriFBc8/GpWmBT82/SO.3ziVE2/"},
	} {
		got, err := Crypt(c.pw, c.setting)
		if err != nil || got != c.want {
			t.Errorf("Crypt(%q, %q) = %q, %v; want %q", c.pw, c.setting, got, err, c.want)
		}
		if ok, err := Check(c.pw, c.want); !ok || err != nil {
			t.Errorf("Check(%q, %q) = %v, %v", c.pw, c.want, ok, err)
		}
		if ok, _ := Check(c.pw+"x", c.want); ok {
			t.Errorf("Check accepts a wrong password for %q", c.want)
		}
	}
	for _, h := range []string{"$2y$10$abc", "plain", "$7$x", "$5$rounds=x$salt$h", "$5$rounds=5000"} {
		if Supported(h) {
			t.Errorf("%q reported as supported", h)
		}
	}
}

func FuzzCrypt(f *testing.F) {
	f.Add("pw", "$5$rounds=1000$salt$")
	f.Add("pw", "$1$abc$")
	f.Fuzz(func(t *testing.T, pw, setting string) {
		if strings.Contains(setting, "rounds=") {
			return // up to 999999999 rounds: too slow for fuzzing
		}
		if got, err := Crypt(pw, setting); err == nil {
			if ok, _ := Check(pw, got); !ok {
				t.Errorf("Crypt(%q, %q) = %q does not check", pw, setting, got)
			}
		}
	})
}

// BenchmarkSHA256Crypt is what one uncached check costs (5000 rounds).
func BenchmarkSHA256Crypt(b *testing.B) {
	for b.Loop() {
		Crypt("s3cret", "$5$saltsalt$")
	}
}

// BenchmarkAuthenticateCached is a check answered by the cache.
func BenchmarkAuthenticateCached(b *testing.B) {
	l := testList(b)
	authz := basic("alice:s3cret")
	var scratch []byte
	l.Authenticate(authz, &scratch)
	b.ReportAllocs()
	for b.Loop() {
		scratch = scratch[:0]
		l.Authenticate(authz, &scratch)
	}
}
