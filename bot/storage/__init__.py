"""The database: tables, migrations and repositories (inbox rows, pending changes, audit, secrets).

May import domain and config; never chat, webex or webhook.
"""
