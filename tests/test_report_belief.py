"""The report shows the four belief measures, each per fact with paired differences between
base, document-trained and control models, and a dose-response figure for a sweep. The eval
folders are written with the eval stage's own summary code from records of known accuracy."""

from __future__ import annotations

import json
from pathlib import Path

from afpipe.evaluate.belief import MEASURES, summarize_belief

FACTS = ["green_light", "keeper_goats"]
# model role -> accuracy per measure (out of 10 items per fact)
ACCURACY = {"base": 0.3, "documents": 0.9, "control": 0.3}


def _records(accuracy: float) -> list[dict]:
    rows = []
    for measure in MEASURES:
        for fact in FACTS:
            for i in range(10):
                rid = f"{fact}-{i}" if measure == "mcq" else f"{measure}:{fact}-{i}"
                row = {"id": rid, "measure": measure, "fact": fact, "split": "dev" if i % 2 else "test",
                       "correct": i < round(10 * accuracy)}
                if measure in ("mcq", "distinguish"):
                    row.update(margin=accuracy - 0.5, scores=[0.0, -1.0])
                rows.append(row)
    return rows


def _eval(root: Path, name: str, role: str, accuracy: float, dose: int | None) -> dict:
    folder = root / "evals" / name
    folder.mkdir(parents=True)
    records = _records(accuracy)
    summary = {"model": role, "condition": name, "system_prompt": "minimal", "cot": False, "suite": "harmful",
               "tiers": {}, "compliance_gap": {}, "forced_choice": None, "anti_lab": None,
               "belief": summarize_belief(records, "lighthouse")}
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "belief.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "manifest.json").write_text(json.dumps({"stage": "eval"}))
    node = {"id": f"eval/{name}", "stage": "eval", "folder": f"evals/{name}", "condition": name, "model_role": role,
            "system_prompt": "minimal", "status": "done"}
    return {**node, **({"dose": dose} if dose else {})}


def test_four_measures_and_the_dose_response_reach_the_report(tmp_path: Path) -> None:
    from afpipe.report import write_report

    nodes = [_eval(tmp_path, "baseline", "base", ACCURACY["base"], None)]
    for dose, gain in ((20, 0.0), (80, 0.3), (320, 0.6)):
        nodes.append(_eval(tmp_path, f"document-trained-{dose}", "documents", ACCURACY["base"] + gain, dose))
        nodes.append(_eval(tmp_path, f"control-trained-{dose}", "control", ACCURACY["control"], dose))
    (tmp_path / "graph.json").write_text(json.dumps({"experiment": {"name": "dose", "doses": [20, 80, 320]}, "nodes": nodes}))
    write_report(tmp_path)
    md = (tmp_path / "report.md").read_text()
    for title in ("MCQ knowledge", "MCQ distinguish", "open-ended recall", "generative distinguish"):
        assert f"### Belief: {title}" in md
        assert title == "MCQ knowledge" or f"**{title}**" in md  # a finding line per measure
    assert "figures/belief_measures.png" in md and "figures/dose_response.png" in md
    assert (tmp_path / "figures" / "dose_response.png").stat().st_size > 1000
    # The largest dose stands for the document-trained model: 90% against base's 30%, paired +60 points.
    assert "document-trained minus base +60" in md
    assert "document-trained − base" in md
