"""Chat delivery shared by every chat platform (Slack, Teams): who a platform user is, where to
reach a person, which card copies exist, which inbound events were already handled, and the
durable fan-out that keeps every copy of a requisition's card true after any action anywhere.

A platform adapter (bot/slack, bot/teams) implements `ChatSurface` and registers it; everything
else here is platform-neutral.
"""
