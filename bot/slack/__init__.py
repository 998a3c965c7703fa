"""The Slack app: bolt listeners that translate Slack payloads into the assistant's and the core's
commands, Block Kit rendering of cards, and the delivery surface that posts and updates cards.

Nothing here decides who may approve: every tap goes through the assistant and the approval
service, which re-check the actor against the requisition as it is now.
"""
