"""A registry plugin whose schema marks one setting secret, so that saving it writes secrets."""

from __future__ import annotations

import json

from tests.actors.installer.installer_helpers import GitRepo, plugin_files
from tests.web.plugin_env import PluginEnv

VAULT_SCHEMA = {
    "type": "object",
    "properties": {
        "token": {"type": "string", "x-secret": True},
        "label": {"type": "string", "default": "vault"},
    },
}


def add_vault(env: PluginEnv) -> GitRepo:
    """Publish plugin ``vault`` (a secret ``token`` and a plain ``label``) in ``env``'s registry."""
    repo = GitRepo(env.root / "repos" / "vault")
    files = plugin_files("vault")
    files["config_schema.json"] = json.dumps(VAULT_SCHEMA)
    repo.commit(files, "vault 1.0.0")
    env.add_entry({"id": "vault", "name": "Vault", "repo": repo.url, "latest_version": "1.0.0"})
    return repo
