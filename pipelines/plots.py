"""stats.png: the pictures of a release's stats (or of several side by side), drawn headless.

Three panels, one line or bar per config: group balance (each config's rows
split by group, 100% wide, with the distance from uniform), the distribution of
row lengths in words (cumulative), and the histogram of pairwise similarities of the
templates (of the sampled rows where the templates are not known).

Matplotlib's object API on the Agg canvas (no pyplot, no global state, no
display), its bundled DejaVu Sans, and no software or date in the PNG's
metadata: the same stats give the same bytes.

Usage: ``write_png([("calm", stats)], "releases/calm/1.0.0/stats.png")``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from schemas.tally import LENGTH_BINS

#: The picture's name in a release.
PNG_FILE = "stats.png"
#: Settings that make the picture the same on every machine.
_RC = {"font.family": "DejaVu Sans", "font.size": 8, "axes.titlesize": 9, "svg.hashsalt": "biasbench",
       "path.simplify": False,
       "figure.autolayout": False, "figure.constrained_layout.use": False}
_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d",
            "#bab0ac")


def _rows(benchmarks: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, config stats) for every config, prefixed by the benchmark's label when there are several."""
    out = []
    for label, stats in benchmarks:
        for name, c in sorted(stats.get("configs", {}).items()):
            out.append((f"{label}: {name}" if len(benchmarks) > 1 else name, c))
    return out


def _balance(ax, rows) -> None:
    ys, widths, lefts, colours = [], [], [], []  # one barh call for every bar (a call per bar cost 2 ms each)
    for y, (name, c) in enumerate(rows):
        counts = list(c.get("groups", {}).values())
        total = sum(counts) or 1
        left = 0.0
        for i, n in enumerate(counts):
            ys.append(y)
            widths.append(n / total)
            lefts.append(left)
            colours.append(_COLOURS[i % len(_COLOURS)])
            left += n / total
        distance = c.get("figures", {}).get("group_uniform_distance")
        if distance is not None:
            ax.text(1.01, y, f"{distance:.3f}", va="center", fontsize=7)
    if ys:
        ax.barh(ys, widths, left=lefts, color=colours, edgecolor="white", linewidth=0.3)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of rows per group (right: distance from uniform)")
    ax.set_title("Group balance")


def _lengths(ax, rows) -> None:
    """Cumulative share of rows by length: smooth for long texts, and the last bin (longer texts) ends at 1."""
    last = 0
    for i, (name, c) in enumerate(rows):
        hist = [0] * max((len(h) for h in c.get("length_histogram", {}).values()), default=0)
        for h in c.get("length_histogram", {}).values():
            for k, n in enumerate(h):
                hist[k] += n
        total = sum(hist)
        if total:
            running, cumulative = 0, []
            for n in hist:
                running += n
                cumulative.append(running / total)
            last = max(last, len(hist) - 1)
            ax.step(range(len(hist)), cumulative, where="post", linewidth=1, color=_COLOURS[i % len(_COLOURS)],
                    label=name)
    ax.set_xlabel(f"row length in words (the last bin, {LENGTH_BINS - 1}, holds longer rows)" if last ==
                  LENGTH_BINS - 1 else "row length in words")
    ax.set_ylabel("share of rows at most this long")
    ax.set_ylim(0, 1.02)
    ax.set_title("Length distributions")
    _legend(ax)


def _similarity(ax, rows) -> None:
    methods = set()
    drawn: dict[tuple, list[str]] = {}  # configs with the same templates share one line
    for name, c in rows:
        figures = c.get("figures", {})
        sim = figures.get("template_similarity") or figures.get("row_similarity") or {}
        hist = tuple(sim.get("histogram") or ())
        if sum(hist):
            methods.add(sim.get("method", ""))
            drawn.setdefault((hist, sim.get("mean", 0)), []).append(name)
    for i, ((hist, mean), names) in enumerate(drawn.items()):
        total = sum(hist)
        label = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"
        ax.step([(k + 0.5) / len(hist) for k in range(len(hist))], [n / total for n in hist], where="mid",
                linewidth=1, color=_COLOURS[i % len(_COLOURS)], label=f"{label} (mean {mean:.2f})")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"pairwise similarity of templates, or of sampled rows where unknown ({', '.join(sorted(methods)) or 'n/a'})")
    ax.set_ylabel("share of pairs")
    ax.set_title("Similarity")
    _legend(ax)


def _legend(ax) -> None:
    """Below the panel, so that no line is hidden under it."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)


def import_matplotlib() -> None:
    """Import what ``write_png`` draws with, ahead of the drawing (a process with time to spare)."""
    import matplotlib  # noqa: F401
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401


def write_png(benchmarks: Sequence[tuple[str, Mapping[str, Any]]], path: str) -> str:
    """Draw the stats of one or more benchmarks (``(label, stats)``) into ``path``; return it."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = _rows(benchmarks)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(15, max(3.5, 0.28 * len(rows) + 1.5) + 0.09 * len(rows) + 0.4), dpi=100)
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1, 1]})
        _balance(axes[0], rows)
        _lengths(axes[1], rows)
        _similarity(axes[2], rows)
        fig.suptitle(" vs ".join(f"{s.get('benchmark', label)} {s.get('version', '')}".strip()
                                 for label, s in benchmarks))
        fig.tight_layout()
        # tight_layout leaves a placeholder layout engine, and savefig draws the whole figure once more
        # (rendering nothing) for any engine: without one, the figure is drawn once
        fig.set_layout_engine(None)
        fig.savefig(path, format="png", metadata={"Software": None})
    return path
