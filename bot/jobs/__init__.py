"""Periodic work: the scheduler, background threads, the change watcher, the webhook check.

May import everything below it: chat (for notifications), webex, storage, inbox.
"""
