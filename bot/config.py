"""Settings: read once from the environment and ``.env``, checked, then passed around.

Nothing else in the bot reads ``os.environ`` (but for ``PROMETHEUS_MULTIPROC_DIR``, which
prometheus_client itself reads and gunicorn.conf.py sets). A missing or malformed setting becomes one line
naming it (``ConfigError``), so an operator sees at once what to fix.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_BASE_URL = "https://webexapis.com/v1/"
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(BaseSettings):
    """Every setting the bot reads, with its validation. Field names are the variables' names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      env_ignore_empty=True,
                                      case_sensitive=False)

    webex_bot_token: SecretStr
    webex_webhook_secret: SecretStr
    webex_admin_token: SecretStr | None = None
    webex_admin_client_id: str | None = None
    webex_admin_client_secret: SecretStr | None = None
    webex_admin_refresh_token: SecretStr | None = None
    webex_org_id: str | None = None
    webex_base_url: str = DEFAULT_BASE_URL
    public_url: str | None = None
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'bot.sqlite3'}"
    bot_secret_key: SecretStr | None = None
    notify_room_ids: Annotated[tuple[str, ...], NoDecode] = ()
    watch_interval_seconds: int = Field(default=300, ge=0)
    webhook_check_interval_seconds: int = Field(default=300, ge=0)
    event_lease_seconds: float = Field(default=30, gt=0)
    worker_threads: int = Field(default=4, ge=1, le=64)
    webex_timeout_seconds: float = Field(default=10, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("webex_bot_token", "webex_webhook_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("webex_base_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")) or "://" == value[-3:]:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") + "/"

    @field_validator("notify_room_ids", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return tuple(value or ())

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("bot_secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            key = base64.urlsafe_b64decode(value.get_secret_value().encode())
        except (binascii.Error, ValueError) as exc:
            raise ValueError("must be a Fernet key (32 url-safe base64-encoded bytes)") from exc
        if len(key) != 32:
            raise ValueError("must be a Fernet key (32 url-safe base64-encoded bytes)")
        return value

    @model_validator(mode="after")
    def _admin_credentials(self) -> Settings:
        refresh = (self.webex_admin_client_id, self.webex_admin_client_secret,
                   self.webex_admin_refresh_token)
        if any(refresh) and not all(refresh):
            missing = [name for name, value in zip(
                ("WEBEX_ADMIN_CLIENT_ID", "WEBEX_ADMIN_CLIENT_SECRET", "WEBEX_ADMIN_REFRESH_TOKEN"),
                refresh, strict=True) if not value]
            raise ValueError(f"{missing[0]} is required when any admin refresh setting is given")
        if self.webex_admin_token is None and not all(refresh):
            raise ValueError("WEBEX_ADMIN_TOKEN is required (or the three WEBEX_ADMIN_CLIENT_ID/"
                             "CLIENT_SECRET/REFRESH_TOKEN settings)")
        return self

    @property
    def can_refresh_admin_token(self) -> bool:
        return self.webex_admin_refresh_token is not None

    @property
    def webhook_target_url(self) -> str | None:
        return f"{self.public_url}webhooks/webex" if self.public_url else None


def load_settings(**overrides: object) -> Settings:
    """Read and check the settings; raise ``ConfigError`` with one line naming the first problem.

    ``overrides`` (field names) win over the environment, for tests and tools.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """One line for the first problem: the variable's name and what is wrong with it."""
    error = exc.errors()[0]
    location = [str(part) for part in error.get("loc", ()) if part != "__root__"]
    message = error.get("msg", "is invalid").removeprefix("Value error, ")
    if message[1:2].islower():  # "Input should be..." reads better mid-sentence
        message = message[:1].lower() + message[1:]
    if not location:
        return f"configuration error: {message}"
    name = location[0].upper()
    if error.get("type") == "missing":
        return f"configuration error: {name} is required"
    return f"configuration error: {name} {message}"
