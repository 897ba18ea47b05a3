package master

import (
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"dhproxy/internal/model"
)

func TestShowProcPrograms(t *testing.T) {
	now := time.Now()
	cur := &worker{pid: 12, started: now}
	m := &Master{opt: Options{Version: "0.1.0"}, started: now, workers: []*worker{cur}, current: cur,
		programs: []*program{{name: "api", pid: 20, started: now, reloads: 1}, {name: "old", pid: 21, started: now, reloads: 1, old: true}, {name: "new", pid: 22, started: now}}}
	got := m.showProc()
	_, progs, _ := strings.Cut(got, "# programs\n")
	want := "20              api             1               0d00h00m00s     -              \n" +
		"22              new             0               0d00h00m00s     -              \n" +
		"# old programs\n" +
		"21              old             1               0d00h00m00s     -              \n\n"
	if progs != want {
		t.Errorf("got:\n%q\nwant:\n%q", progs, want)
	}
}

// A reload replaces the programs with start-on-reload (the old instance
// gets SIGUSR1 and ends), keeps the others and stops removed ones.
func TestReloadPrograms(t *testing.T) {
	sleep := []string{"/bin/sh", "-c", "exec sleep 30"}
	m := New(Options{Log: io.Discard})
	t.Cleanup(m.endPrograms)
	m.startPrograms(&model.Config{Programs: []*model.Program{
		{Name: "replaced", Command: sleep, UID: -1, GID: -1, StartOnReload: true},
		{Name: "kept", Command: sleep, UID: -1, GID: -1},
		{Name: "removed", Command: sleep, UID: -1, GID: -1, StartOnReload: true},
	}}, nil)
	before := m.programPIDs()
	if len(before) != 3 {
		t.Fatalf("started %v, want 3 programs", before)
	}
	m.reloadPrograms(&model.Config{Programs: []*model.Program{
		{Name: "replaced", Command: sleep, UID: -1, GID: -1, StartOnReload: true},
		{Name: "kept", Command: sleep, UID: -1, GID: -1},
	}})
	for range 2 {
		select {
		case e := <-m.exits:
			if e.p == nil || !e.p.old || e.code != 128+int(syscall.SIGUSR1) {
				t.Errorf("exit %+v (program %+v), want an old program ended by SIGUSR1", e, e.p)
			}
			m.programExited(e)
		case <-time.After(5 * time.Second):
			t.Fatal("the replaced and removed instances did not end")
		}
	}
	after := m.programPIDs()
	if len(after) != 2 || after["kept"] != before["kept"] || after["replaced"] == 0 || after["replaced"] == before["replaced"] {
		t.Fatalf("after the reload %v, before %v: want 'kept' unchanged, 'replaced' new, 'removed' gone", after, before)
	}
	for _, p := range m.programs {
		if want := map[string]int{"kept": 1}[p.name]; p.reloads != want {
			t.Errorf("program %s counts %d reloads, want %d", p.name, p.reloads, want)
		}
	}
}

// programPIDs maps each current program to its pid.
func (m *Master) programPIDs() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	pids := map[string]int{}
	for _, p := range m.programs {
		if !p.old {
			pids[p.name] = p.pid
		}
	}
	return pids
}
