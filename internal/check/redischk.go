package check

// "option redis-check": HAProxy's tcpcheck.c sends an inline PING as a
// RESP array and expects the string "+PONG\r\n" anywhere in the reply.

func redisRules() *ruleset {
	return &ruleset{rules: []rule{
		{kind: ruleConnect},
		{kind: ruleSend, data: []byte("*1\r\n$4\r\nPING\r\n")},
		{kind: ruleExpectString, data: []byte("+PONG\r\n"), okInfo: "Redis server is ok", errStatus: StatusL7STS},
	}, implicitConnect: true}
}
