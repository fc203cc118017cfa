"""A new installation's embedded index opened by several processes at the same moment (two web workers
answering their first searches): every one opens, and they all use one index. Found by the load test:
the processes shared one temporary name for CURRENT and one of them failed with FileNotFoundError."""

import multiprocessing

from search.embedded import EmbeddedSearchIndex


def _open(root: str, start, names) -> None:  # type: ignore[no-untyped-def]
    start.wait()
    index = EmbeddedSearchIndex(root)
    names.put(index._current().name)


def test_processes_opening_a_new_index_at_once_all_use_one():
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        context = multiprocessing.get_context("fork")
        start, names = context.Barrier(8), context.Queue()
        workers = [context.Process(target=_open, args=(root, start, names)) for _ in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
        assert [w.exitcode for w in workers] == [0] * 8
        opened = {names.get(timeout=5) for _ in workers}
        assert len(opened) == 1, opened
        from pathlib import Path

        left = sorted(p.name for p in Path(root).iterdir())
        assert left == ["CURRENT", *opened], left  # the losers' empty indexes and temporary files are gone
