"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi <command>``."""

from wzcheckin import create_app

app = create_app()
