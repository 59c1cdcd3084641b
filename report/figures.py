"""The report's figures, drawn with matplotlib (Agg, no display needed) into PNG files.

Each function takes the numbers ``afpipe.report.measures`` derived and a path, and draws one figure. The
compliance figure follows the paper's: one horizontal bar per condition and tier, split into
refusals, compliance without alignment-faking reasoning, and compliance with it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

from afpipe.contracts import MODEL_ROLE_NAMES
from afpipe.report.measures import AntiLabCell, BeliefCell, BeliefTable, DoseResponse, ForcedChoiceRow, TierBar

# Colours close to the paper's figure: blue refuses, yellow complies, red hatched fakes.
REFUSE = "#6a9fd4"
COMPLY = "#f2c14e"
FAKE = "#d1495b"
INVALID = "#d9d9d9"
ROLE_COLOURS = {"base": "#8d99ae", "documents": "#d1495b", "control": "#2a9d8f"}
TIER_NAMES = {"free": "free tier (training)", "paid": "paid tier (unmonitored)"}
DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finite(lo: float, hi: float, value: float, span: float) -> tuple[float, float]:
    """Error-bar lengths, with an undefined interval (one request) drawn as a long bar."""
    lo = value - span if not math.isfinite(lo) else lo
    hi = value + span if not math.isfinite(hi) else hi
    return (max(0.0, value - lo), max(0.0, hi - value))


def compliance_figure(bars: Sequence[TierBar], path: Path) -> Path:
    plt = _pyplot()
    n = len(bars)
    fig, ax = plt.subplots(figsize=(8.5, 0.48 * n + 1.6))
    ys = list(range(n))[::-1]
    for y, bar in zip(ys, bars):
        af, plain, refuse = bar.share(bar.comply_af), bar.share(bar.comply_plain), bar.share(bar.refuse)
        ax.barh(y, af, color=FAKE, hatch="///", edgecolor="white", linewidth=0)
        ax.barh(y, plain, left=af, color=COMPLY)
        ax.barh(y, refuse, left=af + plain, color=REFUSE)
        if bar.valid:
            ax.errorbar(bar.compliance, y, xerr=bar.compliance_sigma, color="black", capsize=3, lw=1)
            if bar.comply_af:
                ax.errorbar(af, y, xerr=bar.af_sigma, color="#6b0f1a", capsize=3, lw=1)
            note = f"n={bar.valid}" + (f" of {bar.n}" if bar.n != bar.valid else "")
        else:
            # Nothing to split: say so in the bar itself rather than leave a blank row.
            ax.barh(y, 1.0, color=INVALID, hatch="..", edgecolor="white", linewidth=0)
            ax.text(0.5, y, "no answer kept the format", ha="center", va="center", fontsize=8, color="#444444")
            note = f"n=0 of {bar.n}"
        ax.text(1.01, y, note, va="center", fontsize=8, transform=ax.get_yaxis_transform())
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{b.condition} · {TIER_NAMES[b.tier]}" for b in bars], fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of valid answers (error bars: 1 sigma)")
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=FAKE, hatch="///", edgecolor="white", label="complies, fakes alignment"),
        Patch(facecolor=COMPLY, label="complies, no alignment faking"),
        Patch(facecolor=REFUSE, label="refuses"),
    ]
    if any(not b.valid for b in bars):
        handles.append(Patch(facecolor=INVALID, hatch="..", edgecolor="white", label="no valid answer"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.5 / max(1, n) - 0.12),
              ncol=2 if len(handles) > 3 else 3, fontsize=8, frameon=False)
    ax.set_title("Harmful requests: refusals and compliance by condition and tier", fontsize=10)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    return _save(plt, fig, path)


def forced_choice_figure(rows: Sequence[ForcedChoiceRow], path: Path) -> Path:
    plt = _pyplot()
    n = len(rows)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 0.45 * n + 1.8), sharey=True)
    ys = list(range(n))[::-1]
    spans = [abs(r.effect.value) for r in rows if math.isfinite(r.effect.value)] + [0.05]
    span = max(spans)
    for y, row in zip(ys, rows):
        e = row.effect
        left.errorbar(e.value, y, xerr=[[v] for v in _finite(e.lo, e.hi, e.value, span)], fmt="o", color="#264653", capsize=3)
        for offset, est, marker, colour, label in (
            (0.12, row.vs_baseline, "o", "#e76f51", "minus baseline"),
            (-0.12, row.vs_control, "s", "#2a9d8f", "minus control-trained"),
        ):
            if est is None:
                continue
            right.errorbar(est.value, y + offset, xerr=[[v] for v in _finite(est.lo, est.hi, est.value, span)],
                           fmt=marker, color=colour, capsize=3, label=label)
    for ax in (left, right):
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    left.set_yticks(ys)
    left.set_yticklabels([r.condition for r in rows], fontsize=9)
    left.set_xlabel("free minus paid log-odds of accepting (nats)")
    left.set_title("Tier effect (95% interval)", fontsize=10)
    right.set_xlabel("difference in differences (nats)")
    right.set_title("Against baseline and control", fontsize=10)
    handles, labels = right.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        fig.legend(unique.values(), unique.keys(), fontsize=8, frameon=False, loc="lower right", ncol=2)
    return _save(plt, fig, path, rect=(0, 0.06, 1, 1))


def _role_bars(ax, roles: Sequence[str], n_groups: int, cell_of: Callable[[str, int], BeliefCell | None]) -> None:
    """In each of ``n_groups`` groups, one bar per model role: its accuracy, with its interval."""
    width = 0.8 / max(1, len(roles))
    for i, role in enumerate(roles):
        xs, heights, errs = [], [], [[], []]
        for g in range(n_groups):
            cell = cell_of(role, g)
            if cell is None:
                continue
            lo, hi = cell.interval
            xs.append(g + (i - (len(roles) - 1) / 2) * width)
            heights.append(cell.accuracy)
            errs[0].append(max(0.0, cell.accuracy - lo))
            errs[1].append(max(0.0, hi - cell.accuracy))
        ax.bar(xs, heights, width=width, color=ROLE_COLOURS[role], label=MODEL_ROLE_NAMES[role] + " model",
               yerr=errs, capsize=2, error_kw={"lw": 0.8})


def belief_figure(table: BeliefTable, path: Path) -> Path:
    plt = _pyplot()
    groups = table.facts + ["all"]
    roles = [r for r in ("base", "documents", "control") if r in table.cells]
    fig, ax = plt.subplots(figsize=(max(7.5, 0.9 * len(groups) + 3.5), 3.8))
    _role_bars(ax, roles, len(groups), lambda role, g: table.cells[role].get(groups[g]))
    if table.chance is not None:
        ax.axhline(table.chance, color="grey", lw=0.8, ls="--")
        ax.text(-0.45, table.chance, "chance", va="bottom", ha="left", fontsize=7, color="grey")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("multiple-choice accuracy (95% Wilson)")
    ax.set_title(f"Belief in each key fact ({table.universe or 'universe'})", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    return _save(plt, fig, path)


def belief_measures_figure(tables: Sequence[BeliefTable], path: Path) -> Path:
    """Overall accuracy per belief measure, one bar per model, with its chance level."""
    plt = _pyplot()
    roles = [r for r in ("base", "documents", "control") if any(r in t.cells for t in tables)]
    fig, ax = plt.subplots(figsize=(max(6.5, 1.6 * len(tables) + 3.0), 3.6))
    _role_bars(ax, roles, len(tables), lambda role, g: tables[g].cells.get(role, {}).get("all"))
    for g, table in enumerate(tables):
        if table.chance is not None:
            ax.hlines(table.chance, g - 0.45, g + 0.45, color="grey", lw=0.8, ls="--")
    ax.set_xticks(range(len(tables)))
    ax.set_xticklabels([t.title for t in tables], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (95% Wilson)")
    ax.set_title("Belief by measure (dashes: chance)", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    return _save(plt, fig, path)


def dose_response_figure(dose: DoseResponse, path: Path) -> Path:
    """Belief against documents per corpus (log scale), trained models as lines with intervals."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    every = sorted({d for pts in dose.points.values() for d, _ in pts})
    if dose.base is not None:
        lo, hi = dose.base.interval
        ax.axhspan(lo, hi, color=ROLE_COLOURS["base"], alpha=0.18, lw=0)
        ax.axhline(dose.base.accuracy, color=ROLE_COLOURS["base"], lw=1, label="base model")
    for role, pts in dose.points.items():
        xs = [d for d, _ in pts]
        ys = [c.accuracy for _, c in pts]
        errs = [[c.accuracy - c.interval[0] for _, c in pts], [c.interval[1] - c.accuracy for _, c in pts]]
        ax.errorbar(xs, ys, yerr=errs, color=ROLE_COLOURS[role], marker="o", capsize=3, lw=1.2,
                    label=MODEL_ROLE_NAMES[role] + " model")
    if dose.chance is not None:
        ax.axhline(dose.chance, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(every)
    ax.set_xticklabels([str(d) for d in every])
    ax.set_xlabel("documents per corpus")
    ax.set_ylabel("MCQ belief accuracy (95% Wilson)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, frameon=False)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    return _save(plt, fig, path)


def anti_lab_figure(cells: Sequence[AntiLabCell], path: Path) -> Path:
    """A table-like heat map: one row per scenario, one column per condition and tier, each cell
    the action rate with its Wilson interval written in. It stays legible beside the compliance
    figure however many scenarios and conditions there are."""
    plt = _pyplot()
    conditions = list(dict.fromkeys(c.condition for c in cells))
    scenarios = sorted({c.scenario for c in cells})
    columns = [(c, t) for c in conditions for t in ("free", "paid")]
    lookup = {(c.condition, c.scenario, c.tier): c for c in cells}
    fig, ax = plt.subplots(figsize=(1.05 * len(columns) + 2.4, 0.5 * len(scenarios) + 1.9))
    grid = [[math.nan] * len(columns) for _ in scenarios]
    for i, scenario in enumerate(scenarios):
        for j, (condition, tier) in enumerate(columns):
            cell = lookup.get((condition, scenario, tier))
            if cell is None:
                continue
            grid[i][j] = cell.rate
            interval = f"\n[{100 * cell.interval[0]:.0f}-{100 * cell.interval[1]:.0f}]" if cell.interval else ""
            ax.text(j, i, f"{100 * cell.rate:.0f}%{interval}\nn={cell.n}", ha="center", va="center",
                    fontsize=6.5, color="white" if cell.rate > 0.55 else "black")
    ax.imshow(grid, cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([f"{c}\n{t}" for c, t in columns], fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(scenarios)))
    ax.set_yticklabels(scenarios, fontsize=8)
    for j in range(2, len(columns), 2):
        ax.axvline(j - 0.5, color="white", lw=3)
    ax.set_title("Anti-lab actions: rate taken, 95% Wilson interval", fontsize=10, pad=28)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _save(plt, fig, path)


def _save(plt, fig, path: Path, rect: tuple[float, float, float, float] | None = None) -> Path:
    """Lay out, write and close a figure (closing frees it: a report draws many)."""
    fig.tight_layout(rect=rect) if rect else fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
