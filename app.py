"""What gunicorn (``gunicorn app:app``) and ``flask --app app`` load."""

from bot import create_app

app = create_app()
