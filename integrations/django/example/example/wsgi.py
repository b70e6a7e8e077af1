"""WSGI entry point of the example project: gunicorn example.wsgi (from integrations/django/example)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
application = get_wsgi_application()
