"""Each adapter is chosen in one place (archive_service/adapters.py), made once for the settings in force and
made anew when they change — a test, or an administrator's changed setting, gets the store and index it names."""

import io

import pytest

from archive_service import adapters, config
from archive_service.errors import ArchiveError
from search import EmbeddedSearchIndex
from storage import LocalObjectStore


def _settings(monkeypatch, tmp_path, name: str) -> None:
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path / name))
    config.get_settings.cache_clear()


def test_the_same_settings_give_the_same_adapters_and_new_settings_new_ones(monkeypatch, tmp_path):
    _settings(monkeypatch, tmp_path, "first")
    store, index = adapters.object_store(), adapters.search_index()
    assert isinstance(store, LocalObjectStore) and isinstance(index, EmbeddedSearchIndex)
    assert adapters.object_store() is store and adapters.search_index() is index  # made once

    _settings(monkeypatch, tmp_path, "second")
    moved = adapters.object_store()
    assert moved is not store and adapters.search_index() is not index
    kept = moved.put_stream(io.BytesIO(b"probe"))
    assert moved.exists(kept.key) and not store.exists(kept.key)  # the store the new settings name


def test_a_store_spec_it_does_not_know_is_refused_by_name(tmp_path, monkeypatch):
    _settings(monkeypatch, tmp_path, "spec")
    with pytest.raises(ArchiveError) as refused:
        adapters.open_store(config.get_settings(), "ftp://elsewhere")
    assert refused.value.field == "to" and "无法识别的存储位置" in refused.value.message
