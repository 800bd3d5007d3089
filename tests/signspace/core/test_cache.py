"""Where built things are cached (signspace/core/cache.py)."""

from pathlib import Path

from signspace.core.cache import default_cache_dir


def test_the_cache_follows_the_environment_else_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SIGNSPACE_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SIGNSPACE_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "signspace"
