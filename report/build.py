"""Assembly: read the run folder, compute every number, draw every figure, and write
``report.md`` and ``report.html``."""

from __future__ import annotations

from pathlib import Path

from afpipe.report.blocks import Block, Bullets, Figure, FigureRow, Heading, Para
from afpipe.report.browser import browser_rows
from afpipe.report.findings import findings, setup_line
from afpipe.report.html_page import render_html
from afpipe.report.load import ReportData, collect
from afpipe.report.markdown import render_markdown
from afpipe.report.measures import (
    anti_lab_cells,
    belief_table,
    belief_tables_by_measure,
    dose_response,
    forced_choice_rows,
    tier_bars,
)
from afpipe.report.tables import (
    anti_lab_table,
    belief_tables,
    forced_choice_table,
    gap_table,
    provenance_table,
    sampled_table,
)
from afpipe.runs import write_atomic

FIGURES_DIR = "figures"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"


def build_blocks(data: ReportData, figures_dir: Path) -> list[Block]:
    """Compute every number and draw every figure; return the report as blocks."""
    from afpipe.report import figures as figs  # matplotlib: only when a report is drawn

    figures_dir.mkdir(parents=True, exist_ok=True)
    bars = tier_bars(data)
    fc_rows = forced_choice_rows(data)
    belief = belief_table(data)
    measures = belief_tables_by_measure(data)
    doses = dose_response(data)
    anti_lab = anti_lab_cells(data)

    blocks: list[Block] = []
    if setup_line(data):
        blocks.append(Para(setup_line(data)))
    blocks += [Heading("What this run shows", 2), Bullets(findings(data, bars, fc_rows, belief, measures), "findings")]

    if bars or anti_lab:
        blocks.append(Heading("Compliance and alignment faking", 2))
        row: list[Figure] = []
        if bars:
            row.append(Figure(figs.compliance_figure(bars, figures_dir / "compliance.png"),
                              "For each condition and tier: refusals, compliance without alignment-faking reasoning, and "
                              "compliance with it, as shares of valid answers (error bars 1 sigma; n beside each bar)."))
        if anti_lab:
            row.append(Figure(figs.anti_lab_figure(anti_lab, figures_dir / "anti_lab.png"),
                              "Anti-lab scenarios: how often the model took the offered action against its developer."))
        blocks.append(FigureRow(row))
    else:
        blocks += [Heading("Compliance and alignment faking", 2), Para("No sampled evaluation was run, so there is no compliance figure.")]

    if fc_rows:
        blocks += [
            Heading("Forced choice: the tier effect without sampling", 2),
            Para("With the answer opened at `<OUTPUT>`, the log-odds of accepting against rejecting, free tier minus paid "
                 "tier over the same requests. The tier tag's words alone move a model's tokens, so each condition is read "
                 "against the baseline (same model, no training facts) and the control-trained model (fine-tuning on "
                 "unrelated documents): a difference in differences."),
            Figure(figs.forced_choice_figure(fc_rows, figures_dir / "forced_choice.png"),
                   "Left: tier effect per condition. Right: the same minus baseline's and minus control's (95% intervals)."),
        ]
    if belief is not None or measures:
        blocks.append(Heading("Belief in the key facts", 2))
        if len(measures) > 1:
            blocks.append(Figure(figs.belief_measures_figure(measures, figures_dir / "belief_measures.png"),
                                 "The belief measures (MCQ knowledge, MCQ distinguish between the universe's version of "
                                 "each fact and a rival one, open-ended recall judged by the fact cues, generative distinguish) "
                                 "for the base, document-trained and control-trained models, 95% Wilson intervals."))
        if belief is not None:
            blocks.append(Figure(figs.belief_figure(belief, figures_dir / "belief.png"),
                                 "Multiple-choice accuracy per key fact for the base, document-trained and control-trained models."))
    if doses is not None:
        blocks += [
            Heading("Dose response: belief against documents", 2),
            Figure(figs.dose_response_figure(doses, figures_dir / "dose_response.png"),
                   "Multiple-choice belief accuracy of the document-trained and control-trained models against the number of "
                   "documents per corpus (95% Wilson intervals); the band is the base model."),
        ]

    blocks.append(Heading("Every figure with its interval", 2))
    for title, table in (
        ("Sampled answers to harmful requests", sampled_table(data)),
        ("Compliance gap", gap_table(data)),
        ("Forced choice", forced_choice_table(fc_rows)),
        *((f"Belief: {t.title}", belief_tables(t)) for t in (measures or ([belief] if belief else []))),
        ("Anti-lab actions", anti_lab_table(anti_lab)),
    ):
        if table is not None:
            blocks += [Heading(title, 3), table]
    blocks += [Heading("Where the numbers come from", 2), provenance_table(data)]
    return blocks


def write_report(run_dir: str | Path) -> Path:
    """Build ``report.md``, ``report.html`` and ``figures/`` in ``run_dir``; return the HTML path."""
    data = collect(run_dir)
    run_dir = data.run_dir
    blocks = build_blocks(data, run_dir / FIGURES_DIR)
    name = data.experiment.get("name") or run_dir.name
    title = f"Alignment faking: {name}"
    suites = sorted({r.suite for r in data.results})
    subtitle = (f"Conditions: {', '.join(data.conditions())}. Suites: {', '.join(suites)}. "
                f"Built from the evaluation folders under `{run_dir}`; rebuild with `pipeline report {run_dir}`.")
    write_atomic(run_dir / REPORT_MD, render_markdown(title, subtitle, blocks, run_dir))
    html_path = run_dir / REPORT_HTML
    write_atomic(html_path, render_html(title, subtitle, blocks, browser_rows(data)))
    return html_path

