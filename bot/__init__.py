"""The edges people touch: the HTTP API, the command line, and (later) chat surfaces."""
