package model

import "fmt"

// Server keywords that shape how much traffic a server takes: weight,
// maxqueue, minconn and slowstart ("maxconn" stays with the other server
// keywords). Their effect lives in internal/stream (backend.go, weight.go,
// queue.go).

func init() {
	serverOptions["weight"] = serverOpt{1, func(s *Server, v string) error {
		n, err := parseCount(v)
		if err != nil || n > 256 {
			return fmt.Errorf("weight '%s' must be between 0 and 256", v)
		}
		s.Weight = n
		return nil
	}, ""}
	serverOptions["maxqueue"] = serverOpt{1, intOpt(func(s *Server) *int { return &s.Maxqueue }, 0), ""}
	serverOptions["minconn"] = serverOpt{1, intOpt(func(s *Server) *int { return &s.Minconn }, 0), ""}
	serverOptions["slowstart"] = serverOpt{1, func(s *Server, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		s.SlowStart = d
		return nil
	}, ""}
}
