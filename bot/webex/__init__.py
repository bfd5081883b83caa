"""Every call to Webex: HTTP sessions and retries, errors, messenger, admin access and tokens.

May import domain, views (card payloads), storage and ops; never chat.
"""
