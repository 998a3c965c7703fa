"""The web admin console: server-rendered pages for admins and auditors under /console."""
