"""The conversation: commands, dispatch, handlers by topic, the change flow, notifications.

May import domain, views, webex, storage and ops.
"""
