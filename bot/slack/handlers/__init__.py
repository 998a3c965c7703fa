"""Bolt listeners, one module per kind of Slack input; each has `register(app, bot)`."""
