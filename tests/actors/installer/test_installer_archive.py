"""Archives: safe extraction; hostile archives refused, nothing written outside."""

from __future__ import annotations

import io
import stat
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest
from installer_helpers import plugin_files, snapshot, tar_gz_bytes, write_registry, zip_bytes

from actors.errors import ErrorCode, PlugvisorError
from actors.installer import ArchiveLimits
from actors.installer.archive import MiB, extract_archive

pytestmark = pytest.mark.timeout(60)

PLUGIN = plugin_files("boxed")


def zip_with(*members: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in PLUGIN.items():
            zf.writestr(name, content)
        for info, data in members:
            zf.writestr(info, data)
    return buffer.getvalue()


def zip_symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def tar_with(*members: tarfile.TarInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, content in PLUGIN.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for member in members:
            tf.addfile(member, io.BytesIO(b"x" * member.size) if member.isreg() else None)
    return buffer.getvalue()


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, *, link: str = "", size: int = 0):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = size if kind == tarfile.REGTYPE else 0
    return info


def hostile_archive(kind: str, outside: Path) -> bytes:
    builders = {
        "zip-slip": lambda: zip_with(("../../evil.txt", b"pwned")),
        "zip-slip-nested": lambda: zip_with(("assets/../../../evil.txt", b"pwned")),
        "zip-absolute": lambda: zip_with((str(outside / "evil.txt"), b"pwned")),
        "zip-symlink-out": lambda: zip_with(zip_symlink("escape", "../../../..")),
        "zip-symlink-in": lambda: zip_with(zip_symlink("inside", "manager.py")),
        "zip-backslash": lambda: zip_with(("..\\..\\evil.txt", b"pwned")),
        "tar-slip": lambda: tar_with(tar_member("../evil.txt", size=5)),
        "tar-absolute": lambda: tar_with(tar_member(str(outside / "evil.txt"), size=5)),
        "tar-symlink": lambda: tar_with(tar_member("escape", tarfile.SYMTYPE, link=str(outside))),
        "tar-hardlink": lambda: tar_with(tar_member("passwd", tarfile.LNKTYPE, link="/etc/passwd")),
        "tar-device": lambda: tar_with(tar_member("null", tarfile.CHRTYPE)),
        "tar-fifo": lambda: tar_with(tar_member("pipe", tarfile.FIFOTYPE)),
        "zip-duplicate": lambda: zip_with(("manifest.json", b"{}")),
        "not-an-archive": lambda: b"just some bytes, not an archive at all",
        "truncated-zip": lambda: zip_bytes(PLUGIN)[:200],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate
        return builders[kind]()


HOSTILE = [
    "zip-slip", "zip-slip-nested", "zip-absolute", "zip-symlink-out", "zip-symlink-in",
    "zip-backslash", "tar-slip", "tar-absolute", "tar-symlink", "tar-hardlink", "tar-device",
    "tar-fifo", "zip-duplicate", "not-an-archive", "truncated-zip",
]  # fmt: skip


@pytest.mark.parametrize("kind", HOSTILE)
async def test_hostile_archives_are_refused(tmp_path, make_installer, kind):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("sentinel")
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    before = snapshot(tmp_path)

    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_archive(hostile_archive(kind, outside), f"{kind}.bin")

    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.message.startswith("Archive refused: ")
    assert str(tmp_path) not in caught.value.message
    assert snapshot(tmp_path) == before  # nothing written anywhere, staging included
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()
    assert list(installer.paths.tmp_dir.iterdir()) == []
    assert await installer.installed_ids() == []


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """210 MiB of zeros in one member: about 200 KiB compressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("manifest.json", PLUGIN["manifest.json"])
        info = zipfile.ZipInfo("bomb.bin")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as out:
            chunk = bytes(MiB)
            for _ in range(210):
                out.write(chunk)
    return buffer.getvalue()


async def test_zip_bomb_is_stopped_while_extracting(tmp_path, make_installer, zip_bomb):
    assert len(zip_bomb) < MiB
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_archive(zip_bomb, "bomb.zip")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.context == {"limit": "max_file_bytes"}
    assert "'bomb.bin' is larger than 100 MiB unpacked" in caught.value.message
    assert list(installer.paths.tmp_dir.iterdir()) == []


def test_total_size_is_counted_while_streaming_not_taken_from_headers(tmp_path):
    files = {f"part{i}.bin": bytes(400 * 1024) for i in range(4)}
    archive = tmp_path / "parts.tar.gz"
    archive.write_bytes(tar_gz_bytes(files))
    dest = tmp_path / "out"
    dest.mkdir()
    limits = ArchiveLimits(max_total_bytes=MiB)
    with pytest.raises(PlugvisorError) as caught:
        extract_archive(archive, dest, limits)
    assert caught.value.context == {"limit": "max_total_bytes"}
    written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    assert written <= MiB  # stopped at the limit, not after the member


def test_file_count_and_archive_size_limits(tmp_path):
    archive = tmp_path / "many.zip"
    archive.write_bytes(zip_bytes({f"f{i}.txt": "x" for i in range(11)}))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(PlugvisorError) as caught:
        extract_archive(archive, dest, ArchiveLimits(max_files=10))
    assert caught.value.context == {"limit": "max_files"}
    with pytest.raises(PlugvisorError) as caught:
        extract_archive(archive, dest, ArchiveLimits(max_archive_bytes=100))
    assert caught.value.context == {"limit": "max_archive_bytes"}
    assert list(dest.iterdir()) == []


def test_safe_archives_extract_with_modes(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, mode, data in (
            ("pkg/run.sh", 0o4755, b"#!/bin/sh\n"),
            ("pkg/a.txt", 0o600, b"a"),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tf.addfile(info, io.BytesIO(data))
        directory = tarfile.TarInfo("pkg/empty")
        directory.type = tarfile.DIRTYPE
        tf.addfile(directory)
    archive = tmp_path / "ok.tar.gz"
    archive.write_bytes(buffer.getvalue())
    dest = tmp_path / "out"
    dest.mkdir()
    assert extract_archive(archive, dest, ArchiveLimits()) == 3
    assert stat.S_IMODE((dest / "pkg/run.sh").stat().st_mode) == 0o755  # no setuid kept
    assert stat.S_IMODE((dest / "pkg/a.txt").stat().st_mode) == 0o644
    assert (dest / "pkg/empty").is_dir()


async def test_archive_without_a_manifest_is_refused(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    data = zip_bytes({"one/manifest.json": "{}", "two/readme": "x"})
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_archive(data, "two-roots.zip")
    assert caught.value.code is ErrorCode.PLUGIN_INSTALL_FAILED
    assert caught.value.message == (
        "The source has no manifest.json at its root or in its single top-level folder"
    )


async def test_archive_url_with_plugin_path_in_a_github_style_monorepo(
    tmp_path, make_installer, http_server
):
    files = {f"plugins/deep/{k}": v for k, v in plugin_files("deep").items()}
    http_server.routes["/mono-main.zip"] = zip_bytes(files, top="mono-main/")
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    result = await installer.install_from_url(
        http_server.url("/mono-main.zip"), plugin_path="plugins/deep"
    )
    assert result.plugin_id == "deep"
    assert (installer.paths.plugins_dir / "deep" / "manager.py").is_file()
