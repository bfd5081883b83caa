"""A local stand-in for the Webex REST API, for demos and tests.

The emulator is Webex as far as the bot can tell: a real HTTP server with Webex's paths, tokens,
roles, error shapes and webhook deliveries. The bot never imports it; it only talks to it over HTTP.
"""
