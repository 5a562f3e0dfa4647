"""
Settings of the Django project of the client tests: one app, bot, with the
two models of the chat bot scenario, on the PostgreSQL database named by
PGDATABASE (host, port, user and password from the other PG* variables).
"""

import os

SECRET_KEY = "transfer-guard-client-tests"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["bot"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PGDATABASE"],
        "HOST": os.environ.get("PGHOST", ""),
        "PORT": os.environ.get("PGPORT", ""),
        "USER": os.environ.get("PGUSER", ""),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
    }
}
