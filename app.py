"""What gunicorn (``gunicorn app:app``) and ``flask --app app`` load."""

from bot.app import create_app

app = create_app()
