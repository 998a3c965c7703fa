"""Scheduled work of the approval core: business time, reminders, escalation, delegation windows, digests."""
