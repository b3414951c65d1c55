// Package auth says who is asking the console and what they may do: the
// console's users and their roles, login sessions, the CSRF check, and the
// audit journal of every change made through the HTTP API.
//
// Sessions live on the gateway, in the same SQLite file as the users,
// rather than in a signed cookie, so that logging out, removing a user or
// changing a password ends their sessions at once, and so that the role
// is read afresh on each request. The cookie holds only a random id, and
// the file holds only its SHA-256: someone who copies the file (an SD
// card pulled from a board) cannot use what they find in it to log in.
//
// Scripts may use HTTP basic auth instead of a session. bcrypt is slow on
// purpose (tens of milliseconds on an ARM board), too slow to pay on every
// request of a script that polls; so a successful check is remembered for
// a few minutes, keyed by the user and a keyed hash of the password, and
// forgotten when the password changes.
//
// A request without credentials gets 401 without a WWW-Authenticate
// challenge: a browser would otherwise show its own login box and keep
// the basic credentials it was given for as long as it runs, sending them
// with every request where logging out cannot clear them.
package auth
