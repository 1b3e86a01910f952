// Package auth holds the scoped tokens of a coordinator or worker
// (--auth-tokens FILE, one "TOKEN ROLE [NAME]" a line) and decides what
// each may call: admin everything; read GET and HEAD of /api/v1 and the
// data API; worker what nodes ask of each other (registration, heartbeats,
// policy pulls, tasks between nodes) and what read allows. Tokens are
// compared in constant time, as hashes, and never logged: a caller is
// known by its token's name.
package auth
