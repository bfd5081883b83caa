"""The Voicemail Rules Bot for Webex. The app factory is ``bot.app.create_app``; see docs/ARCHITECTURE.md."""
