"""The local web chat: pick a person of the sample company and talk to the same assistant as Slack and Teams."""
