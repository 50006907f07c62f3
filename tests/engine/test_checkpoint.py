import pytest

from workers.engine import checkpoint as ckpt
from workers.engine.errors import EngineError


def _files(tmp):
    (tmp / "model.safetensors").write_bytes(b"weights")


def test_write_is_atomic_and_latest_complete_ignores_tmp(tmp_path):
    ckpt.write_checkpoint(tmp_path, 0, {"a": 1}, _files)
    ckpt.write_checkpoint(tmp_path, 1, {"a": 2}, _files)
    (tmp_path / "round-002.tmp-dead").mkdir()  # a writer that died
    (tmp_path / "round-003").mkdir()  # no state.json: not complete
    assert ckpt.complete_rounds(tmp_path) == [0, 1]
    assert ckpt.latest_complete(tmp_path) == (1, tmp_path / "round-001")
    assert ckpt.read_state(tmp_path / "round-001") == {"a": 2, "round": 1, "complete": True}
    assert ckpt.remove_stale_tmp(tmp_path) == [tmp_path / "round-002.tmp-dead"]


def test_failed_write_leaves_nothing(tmp_path):
    def boom(tmp):
        (tmp / "config.json").write_text("{}")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        ckpt.write_checkpoint(tmp_path, 4, {}, boom)
    assert list(tmp_path.iterdir()) == []
    assert ckpt.latest_complete(tmp_path) is None
    with pytest.raises(EngineError, match="round-004"):
        ckpt.checkpoint_path(tmp_path, 4)


def test_rewriting_a_round_replaces_it(tmp_path):
    ckpt.write_checkpoint(tmp_path, 2, {"v": 1}, _files)
    ckpt.write_checkpoint(tmp_path, 2, {"v": 2}, _files)
    assert ckpt.read_state(tmp_path / "round-002")["v"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["round-002"]
