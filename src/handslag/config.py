"""Configuration from the environment (and optionally a TOML file).

Variables:
- ``HANDSLAG_DATABASE_URL``: SQLAlchemy URL; default a SQLite file in the user's data directory.
- ``HANDSLAG_DATA_DIR``: a snapshot folder laid out like ``shared/data`` loaded on first start.
- ``HANDSLAG_SECRET_KEY``: key for signed sessions; a random per-install key is generated otherwise.
- ``HANDSLAG_CACHE_DIR``: cache for HTTP responses (SCB, Kolada).
- ``HANDSLAG_SCB_API_V2``, ``HANDSLAG_SCB_API_V1``, ``HANDSLAG_KOLADA_API``: other base URLs for those services.
- ``HANDSLAG_CONFIG``: path to a TOML file with the same keys in lower case (``database_url`` …).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

APP_NAME = "handslag"


def user_data_dir() -> Path:
    path = Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _from_toml() -> dict[str, str]:
    path = os.environ.get("HANDSLAG_CONFIG")
    if not path:
        return {}
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return {str(k).lower(): str(v) for k, v in data.items()}


def _secret_key(data_dir: Path) -> str:
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path | None
    secret_key: str
    cache_dir: Path
    suppress_below: int = 5
    scb_api_v2: str | None = None  # override SCB's PxWeb v2 base URL (tests point it at a local server)
    scb_api_v1: str | None = None
    kolada_api: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def scb_options(self) -> dict[str, str]:
        """Keyword arguments for the PxWeb client: only the base URLs that are overridden."""
        return {k: v for k, v in (("base_url_v2", self.scb_api_v2), ("base_url_v1", self.scb_api_v1)) if v}

    @property
    def kolada_options(self) -> dict[str, str]:
        return {"base_url": self.kolada_api} if self.kolada_api else {}


def get_settings() -> Settings:
    toml = _from_toml()

    def pick(name: str) -> str | None:
        return os.environ.get(f"HANDSLAG_{name.upper()}") or toml.get(name)

    home = user_data_dir()
    url = pick("database_url") or f"sqlite:///{home / 'handslag.sqlite'}"
    data_dir = pick("data_dir")
    cache = Path(pick("cache_dir") or platformdirs.user_cache_dir(APP_NAME))
    return Settings(
        database_url=url,
        data_dir=Path(data_dir) if data_dir else None,
        secret_key=pick("secret_key") or _secret_key(home),
        cache_dir=cache,
        suppress_below=int(pick("suppress_below") or 5),
        scb_api_v2=pick("scb_api_v2"),
        scb_api_v1=pick("scb_api_v1"),
        kolada_api=pick("kolada_api"),
        extra=toml,
    )
