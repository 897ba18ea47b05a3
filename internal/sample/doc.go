// Package sample is HAProxy's sample language: a registry where every
// fetch and converter is declared once (name, argument types, output type,
// the phases where it works), and a compiler turning "fetch(args),conv..."
// into an Expr evaluated against a Txn without allocating (registry.go,
// expr.go). ACL conditions, http-request rules, use_backend, "balance hash"
// and the stick rules all compile against it.
package sample
