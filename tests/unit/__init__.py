"""Unit tests: the app's parts called in-process, without an HTTP request or a server: the input
parsers, the chunk stores and stored names, the system checks, the models and migrations (and the
ABSTRACT_MODEL suite, run in its own process), the expiry command, the client's pure parts and the
benchmark's arithmetic."""
