// Package dashboard is the web page every coordinator serves at GET /: the
// coordinators and the leader, the workers with their usage and share of the
// hash ring, jobs with live progress, mount points and cache policies.
//
// It is plain HTML, CSS and JavaScript embedded in the binary (no build
// step, no CDN), so an operator gets it wherever a coordinator runs. The page
// holds no state and has no back door: it reads the same REST API as the CLI,
// from the browser, with the bearer token the user types in (kept in the
// browser's localStorage). The only thing served beside the files is
// GET /ui/ring, a pure function of a member list, because the ring's
// placement (bounded-load consistent hashing over xxhash) is Go code that
// the page should not reimplement.
package dashboard
