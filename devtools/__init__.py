"""Tools for developing the bot, shared by the tests, ``scripts/`` and ``bench/``: starting and
stopping the emulator and gunicorn as processes, and waiting for a condition. Not part of the bot:
nothing under ``bot/`` imports this package (an import-linter contract says so)."""
