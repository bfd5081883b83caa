"""The hot path: POST /webhooks/webex verified, parsed, stored and acknowledged.

May import domain, inbox, storage and ops.metrics; never chat or webex (no Webex call, no command).
"""
