"""Config for the `tortoise` CLI: `tortoise -c tortoise_config.TORTOISE_ORM makemigrations`."""

from infra.db import tortoise_config

TORTOISE_ORM = tortoise_config("sqlite://var/makemigrations.sqlite3")
