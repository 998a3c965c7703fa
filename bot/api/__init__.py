"""The HTTP API (FastAPI): /healthz, /readyz and /api/v1."""
