package lvs

import (
	"fmt"
	"time"
)

// fileCheckPoll is how often FILE_CHECK reads its track file (the VRRP
// side polls its track files as often).
const fileCheckPoll = 500 * time.Millisecond

// ipvsWeightMax is IPVS' largest weight; keepalived clamps a track file's
// contribution just inside it.
const ipvsWeightMax = 65535

// fileState applies keepalived's rule for a real server tracking a file:
// with weight 0 a non-zero number means down (with reverse, 0 means down);
// otherwise the number times the weight (negated by reverse) is added to
// the server's weight, and down only at -65535 or below.
func fileState(v, weight int, reverse bool) (up bool, delta int) {
	if weight == 0 {
		return (v != 0) == reverse, 0
	}
	s := int64(v) * int64(weight)
	if reverse {
		s = -s
	}
	s = max(min(s, ipvsWeightMax-1), -ipvsWeightMax)
	if s == -ipvsWeightMax {
		return false, 0
	}
	return true, int(s)
}

// fileRead reads the checker's track file and records its state; changed
// says whether the number differs from the previous read.
func (c *checker) fileRead() (changed bool) {
	v := c.file.Value(c.fileVal)
	changed = v != c.fileVal || !c.hasRun
	c.fileVal = v
	up, delta := fileState(v, c.conf.FileWeight, c.conf.FileReverse)
	c.up, c.fileDelta, c.hasRun = up, delta, true
	c.last = result{ok: up, weight: -1, status: "L7OK", code: v}
	if !up {
		c.last.status, c.last.detail = "L7STS", fmt.Sprintf("%s holds %d", c.file.File, v)
	}
	return changed
}

// fileStep polls the track file and reports a change of state or weight.
func (c *checker) fileStep() (time.Duration, *transition) {
	wasUp, before := c.up, c.fileDelta
	if !c.fileRead() || c.up == wasUp && c.fileDelta == before {
		return fileCheckPoll, nil
	}
	t := &transition{up: c.up, weight: -1, reweigh: true}
	switch {
	case !c.up && wasUp:
		t.log = fmt.Sprintf("(%s): tracked file %s now FAULT state", c.name, c.file.Name)
		t.alert = "=> FILE CHECK failed on service <="
	case c.up && !wasUp:
		t.log = fmt.Sprintf("(%s): tracked file %s leaving FAULT state", c.name, c.file.Name)
		t.alert = "=> FILE CHECK succeed on service <="
	}
	return fileCheckPoll, t
}
