"""Operations: web routes besides the webhook, CLI commands, preflight, metrics and logs.

metrics and logs import nothing of the bot; web, cli and preflight may import any layer.
"""
