"""Run folders, crash-safe JSON lines and typed configs: the mechanisms every stage relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import Field

from afpipe.config import StageConfig, load_config
from afpipe.errors import UserError
from afpipe.jsonl import JsonlWriter, iter_jsonl, read_jsonl, repair_jsonl
from afpipe.runs import config_hash, open_run, read_manifest, write_atomic, write_manifest


class _Cfg(StageConfig):
    n: int = Field(3, ge=1, description="a count")
    name: str = Field("a", description="a name")


def test_open_run_creates_then_resumes_and_refuses_other_settings(tmp_path: Path) -> None:
    out = tmp_path / "run"
    open_run(out, "generate", {"n": 1, "name": "x"})
    (out / "docs.jsonl").write_text("keep me\n")
    assert open_run(out, "generate", {"name": "x", "n": 1}) == out  # same settings: resume
    with pytest.raises(UserError, match=r"other settings \(n differ\)"):
        open_run(out, "generate", {"n": 2, "name": "x"})
    with pytest.raises(UserError, match="holds a 'generate' run"):
        open_run(out, "finetune", {"n": 1, "name": "x"})
    assert (out / "docs.jsonl").read_text() == "keep me\n"


def test_open_run_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        open_run(tmp_path, "generate", {})
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        open_run(tmp_path / "file", "generate", {})


def test_manifest_round_trip_and_stage_check(tmp_path: Path) -> None:
    open_run(tmp_path, "generate", {"n": 1})
    m = write_manifest(tmp_path, "generate", {"n": 1}, inputs={"u": "abc"}, counts={"docs": 3})
    assert m["config_hash"] == config_hash({"n": 1}) and "python" in m["versions"]
    assert read_manifest(tmp_path, "generate")["counts"] == {"docs": 3}
    with pytest.raises(UserError, match="'generate' run, but a 'finetune' run is needed"):
        read_manifest(tmp_path, "finetune")
    with pytest.raises(UserError, match="no manifest.json"):
        read_manifest(tmp_path / "..", None)


def test_write_atomic_replaces_whole_file_and_leaves_no_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_jsonl_writer_repairs_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    with JsonlWriter(path) as w:
        w.write({"id": 1})
        w.write_many([{"id": 2}, {"id": 3}])
    with path.open("a") as f:
        f.write('{"id": 4, "te')  # a process killed mid-write
    assert [r["id"] for r in iter_jsonl(path)] == [1, 2, 3]
    with JsonlWriter(path) as w:  # reopening cuts the torn piece before appending
        w.write({"id": 5})
    assert [r["id"] for r in read_jsonl(path)] == [1, 2, 3, 5]
    assert repair_jsonl(path) == 4
    assert read_jsonl(tmp_path / "absent.jsonl") == []


def test_load_config_yaml_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("n: 5\nname: from-file\n")
    cfg = load_config(_Cfg, path, {"n": None, "name": "flag"})
    assert (cfg.n, cfg.name) == (5, "flag")  # None flags do not override; set flags do
    assert load_config(_Cfg).n == 3


@pytest.mark.parametrize(
    "text, message",
    [
        ("n: [1, 2\n", r"c.yaml is not valid YAML at line"),
        ("n: 0\n", r"c.yaml: field 'n': Input should be greater than or equal to 1"),
        ("typo: 1\n", r"c.yaml: field 'typo': Extra inputs are not permitted"),
        ("- 1\n", r"expected a mapping"),
    ],
)
def test_load_config_errors_name_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_config(_Cfg, path)
    with pytest.raises(UserError, match="does not exist"):
        load_config(_Cfg, tmp_path / "missing.yaml")
    assert json.loads(json.dumps(_Cfg().model_dump()))  # configs serialise for run_config.json
