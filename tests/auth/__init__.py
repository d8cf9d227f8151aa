"""Sign-in for the workspace: users, sessions, cookies, CSRF and lock-out, over HTTP and the CLI."""
