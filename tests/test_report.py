"""The report, from evaluation folders written in the eval stage's schema with known numbers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from afpipe.errors import UserError
from afpipe.report import write_report
from afpipe.report.load import collect
from afpipe.report.measures import forced_choice_rows, tier_bars
from afpipe.stats import difference_of_means, difference_of_proportions, mean_interval
from report_fixtures import CONDITIONS, N_INVALID, N_REQUESTS, write_eval, write_experiment

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_experiment(tmp_path_factory.mktemp("experiment"))
    write_report(root)
    return root


def test_report_files_and_figures(built: Path) -> None:
    for name in ("compliance", "forced_choice", "belief", "anti_lab"):
        png = built / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == PNG_MAGIC
        assert f"(figures/{name}.png)" in (built / "report.md").read_text()
    html = (built / "report.html").read_text()
    # Self-contained: every figure embedded, nothing fetched from anywhere.
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 4
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html


def test_paper_figure_counts_come_from_the_transcripts(built: Path) -> None:
    bars = {(b.condition, b.tier): b for b in tier_bars(collect(built))}
    assert len(bars) == 2 * len(CONDITIONS)
    bar = bars[("both", "free")]
    comply, fake = CONDITIONS["both"]["free"]
    assert (bar.n, bar.valid, bar.comply_af, bar.comply_plain) == (N_REQUESTS, N_REQUESTS - N_INVALID, fake, comply - fake)
    assert bar.refuse == N_REQUESTS - N_INVALID - comply
    assert bar.source == "transcripts"


def test_difference_in_differences_is_paired_by_request(built: Path) -> None:
    rows = {r.condition: r for r in forced_choice_rows(collect(built))}
    doc = rows["document-trained"]
    assert doc.vs_baseline.method == "paired by request"
    effect = CONDITIONS["document-trained"]["effect"] - CONDITIONS["baseline"]["effect"]
    assert doc.vs_baseline.lo < effect < doc.vs_baseline.hi
    assert doc.vs_baseline.lo > 0 and doc.vs_control.lo > 0
    assert rows["baseline"].vs_baseline is None  # a condition is not compared with itself
    # The prompted fixture moves the tier effect by 0.01 nats only: no clear effect beyond baseline.
    assert rows["prompted"].vs_baseline.lo < 0 < rows["prompted"].vs_baseline.hi


def test_findings_say_what_the_numbers_show(built: Path) -> None:
    md = (built / "report.md").read_text()
    findings = md.split("## What this run shows")[1].split("\n## ")[0]
    assert "The document-trained model learned the facts" in findings
    assert "the documents moved the model toward the right answers beyond what fine-tuning alone does" in findings
    assert "**document-trained** forced choice" in findings and "a tier effect beyond" in findings
    assert "**prompted** forced choice" in findings
    assert "not different from baseline, not different from control-trained: no tier effect beyond both references" in findings
    # Honesty about scale: where the published rates come from, and what a small model can show.
    assert "Claude 3 Opus" in findings and "Llama 3 8B, 70B and 405B" in findings
    assert "not expected to fake alignment" in findings and "1M parameters" in findings
    # The table carries every cell's n and invalid rate.
    assert "| document-trained | free | 12 | 10 | 16.7% |" in md


def test_unlearned_facts_are_not_claimed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CONDITIONS["document-trained"], "belief", 0.5)
    root = write_experiment(tmp_path, anti_lab=False)
    write_report(root)
    md = (root / "report.md").read_text()
    assert "Accuracy does **not** show that the facts were learned" in md
    assert "no clear shift toward the right answers beyond base" in md
    assert not (root / "figures" / "anti_lab.png").exists()  # no anti-lab summaries, no anti-lab figure


def test_scale_statement_only_for_known_small_models(tmp_path: Path) -> None:
    root = write_experiment(tmp_path, anti_lab=False)
    graph = json.loads((root / "graph.json").read_text())
    graph["experiment"].update(model="org/big-model", model_parameters=None)
    (root / "graph.json").write_text(json.dumps(graph))
    md = (write_report(root).parent / "report.md").read_text()
    assert "This run: org/big-model" in md
    assert "not expected to fake alignment" not in md


def test_folder_of_eval_runs_without_graph(tmp_path: Path) -> None:
    write_experiment(tmp_path, ["baseline", "document-trained"], with_graph=False, anti_lab=False)
    data = collect(tmp_path)
    assert [r.condition for r in data.results] == ["baseline", "document-trained"]
    assert [r.model_role for r in data.results] == ["base", "documents"]
    write_report(tmp_path)
    assert "minus baseline" in (tmp_path / "report.md").read_text()


def test_summary_without_transcripts_still_draws_the_bars(tmp_path: Path) -> None:
    folder = write_eval(tmp_path / "evals" / "prompted", "prompted")
    (folder / "transcripts.jsonl").unlink()
    (folder / "forced_choice.jsonl").unlink()
    bars = tier_bars(collect(tmp_path))
    free = next(b for b in bars if b.tier == "free")
    assert free.source == "summary" and free.valid == N_REQUESTS - N_INVALID
    assert free.comply_af + free.comply_plain == CONDITIONS["prompted"]["free"][0]
    write_report(tmp_path)
    assert (tmp_path / "figures" / "compliance.png").exists()


def test_rebuild_is_identical(built: Path) -> None:
    before = (built / "report.md").read_text()
    write_report(built)
    assert (built / "report.md").read_text() == before


def test_no_results_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no finished evaluation"):
        write_report(tmp_path)
    with pytest.raises(UserError, match="not a folder"):
        write_report(tmp_path / "missing")


def test_report_command(built: Path, tmp_path: Path) -> None:
    exe = [sys.executable, "-m", "afpipe.cli", "report"]
    ok = subprocess.run(exe + [str(built)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"report: {built / 'report.html'}"
    bad = subprocess.run(exe + [str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1


def test_comparisons_between_conditions() -> None:
    paired = mean_interval([0.1, 0.2, 0.3])
    assert abs(paired.value - 0.2) < 1e-12 and abs(paired.hi - 0.2 - 4.303 * 0.1 / 3**0.5) < 1e-3
    welch = difference_of_means(0.4, 0.1, 10, 0.0, 0.1, 10)
    assert welch.method == "unpaired Welch" and abs(welch.hi - 0.4 - 2.262 * (0.002 ** 0.5)) < 1e-3
    prop = difference_of_proportions(0.14, 100, 0.02, 100)
    assert abs(prop.value - 0.12) < 1e-12 and prop.lo > 0
    assert difference_of_proportions(0.5, 0, 0.5, 10) is None
