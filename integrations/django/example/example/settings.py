"""An example project around facenet_attendance: the session page and its files from the
repository, the API under /api/attendance/. Configured from the environment:

    FACENET_TOKEN       the bearer token (at least 8 characters)
    FACENET_REPO        the facenet-wasm checkout (default: three levels up): www/, pkg/, models/
    FACENET_DATABASE    "postgres" for PostgreSQL (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD),
                        else SQLite in FACENET_DATA_DIR (default ./data)
"""

import os
from pathlib import Path

REPO = Path(os.environ.get("FACENET_REPO", Path(__file__).resolve().parents[4]))
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + os.environ.get("DJANGO_ALLOWED_HOSTS", "").split()

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "facenet_attendance",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "facenet_attendance.headers.PageHeaders",
]
ROOT_URLCONF = "example.urls"
USE_TZ = True

# --- the two settings facenet_attendance needs ------------------------------------------
FACENET_TOKEN = os.environ.get("FACENET_TOKEN", "")
FACENET_MANIFEST = REPO / "models" / "facenet.json"
# -------------------------------------------------------------------------------------------

if os.environ.get("FACENET_DATABASE") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "facenet"),
            "USER": os.environ.get("PGUSER", ""),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", ""),
            "PORT": os.environ.get("PGPORT", ""),
            # One connection per thread, kept between requests.
            "CONN_MAX_AGE": 60,
        }
    }
else:
    data = Path(os.environ.get("FACENET_DATA_DIR", "data"))
    data.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": data / "facenet-django.sqlite3",
            "OPTIONS": {"timeout": 10, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"},
        }
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"facenet_attendance": {"handlers": ["stderr"], "level": "INFO"}},
}
