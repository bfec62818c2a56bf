"""SystemTap's compile-server protocol as pure functions over bytes: framing, request and
response archives.  No sockets here; the server and the client do the I/O."""
