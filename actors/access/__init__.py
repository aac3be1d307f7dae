"""API access: the token file (created, read, rotated) and the keeper that follows it."""

from .holder import AccessToken, Mode
from .keeper import KeeperSettings, ReloadToken, TokenKeeper
from .rotate import rotate_token, token_location
from .token import TokenFileError, exposed, generate_token, locate, read_token, write_token

__all__ = [
    "AccessToken",
    "KeeperSettings",
    "Mode",
    "ReloadToken",
    "TokenFileError",
    "TokenKeeper",
    "exposed",
    "generate_token",
    "locate",
    "read_token",
    "rotate_token",
    "token_location",
    "write_token",
]
