package model

// Server keywords that shape how much traffic a server takes: maxqueue,
// minconn and slowstart ("weight" and "maxconn" stay with the other server
// keywords). Their effect lives in internal/backend (server.go, weight.go,
// queue.go).

func init() {
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
