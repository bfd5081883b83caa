"""The conversation: commands, dispatch (named steps), handlers by topic, the change flow (its
collaborators handed in: ``deps``), notifications.

May import domain, views, webex, storage and ops.
"""
