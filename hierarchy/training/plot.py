"""The curves of a training run, as PNGs beside the model: per-layer dev scores, and the loss weights a weighting
chose (``weights.png``)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hierarchy.io.fileio import atomic_write  # noqa: E402


def save_figure(fig, path) -> None:
    """Lay ``fig`` out, write it to ``path`` as a PNG (atomically) and close it."""
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


def line_plot(series: dict[str, list[tuple[int, float]]], path, ylabel: str, title: str, zero: bool = False,
              legend: str = "best") -> None:
    """One line per series of ``(epoch, value)`` points, integer epochs; ``zero``: a line at 0. More than six
    series put the legend beside the plot, not over it."""
    outside = len(series) > 6
    fig, ax = plt.subplots(figsize=(9.5 if outside else 7, 4.5))
    for k, (label, points) in enumerate(sorted(series.items())):  # past ten colours, other dashes
        ax.plot(*zip(*points), marker="o", label=label, linestyle=("-", "--", ":")[k // 10 % 3])
    if zero:
        ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    if outside:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    else:
        ax.legend(loc=legend, fontsize="small")
    save_figure(fig, path)


KINDS = {"acc": "accuracy (%)", "f1": "F1 (%)", "uas": "attachment (%)", "las": "attachment (%)",
         "pearson": "Pearson r x 100"}


def main_keys(values: dict) -> list[str]:
    """The main numbers of one dev metric (``acc``, ``f1``, ``uas``/``las``, ``pearson``; a token accuracy beside
    an F1 is not one)."""
    return [k for k in KINDS if k in values and not (k == "acc" and "f1" in values)]


def plot_history(history: list[dict], path, best_epoch: int | None = None) -> list[str]:
    """One panel per kind of dev score (accuracies, F1, attachment scores, correlation), a line per score
    (``upos acc``, ``deps las``...), and the training losses beside them; integer epochs, the selected epoch
    (``best_epoch``) marked in every panel. Returns the panels' titles."""
    panels: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for line in history:
        for task, metrics in line["dev"].items():
            for name, values in metrics.items():
                for key in main_keys(values):
                    panels.setdefault(KINDS[key], {}).setdefault(f"{name} {key}", []).append(
                        (line["epoch"], values[key]))
        for task, loss in line.get("loss", {}).items():
            panels.setdefault("training loss", {}).setdefault(task, []).append((line["epoch"], loss))
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (kind, series) in zip(axes.flat, panels.items()):
        for label, points in sorted(series.items()):
            ax.plot(*zip(*points), marker="o", markersize=3, label=label)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("epoch")
        ax.set_title(kind)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small", loc="best")
    fig.suptitle("Dev scores per layer" + (f" (dashed: the selected epoch, {best_epoch})" if best_epoch else ""))
    save_figure(fig, path)
    return list(panels)


def plot_mix(history: list[dict], path) -> bool:
    """For each task that reads a mix of layers (``mix``), each layer's share of it by epoch: which layers the task
    learned to read (False, nothing written, when no task mixes)."""
    series: dict[str, list[tuple[int, float]]] = {}
    for line in history:
        for task, shares in (line.get("mix") or {}).items():
            for layer, share in enumerate(shares):
                series.setdefault(f"{task} <- layer {layer}", []).append((line["epoch"], share))
    if series:
        line_plot(series, path, "share of the mix (softmax beta)", "Which layers each task reads")
    return bool(series)


def plot_weights(history: list[dict], path) -> bool:
    """Each task's loss weight at the end of each epoch, as the run's weighting chose it (False, nothing written,
    when every weight stayed where it started)."""
    series: dict[str, list[tuple[int, float]]] = {}
    for line in history:
        for task, weight in (line.get("weighting") or {}).get("weights", {}).items():
            series.setdefault(task, []).append((line["epoch"], weight))
    if all(len({w for _, w in points}) <= 1 for points in series.values()):
        return False
    line_plot(series, path, "loss weight", "Loss weights chosen by the weighting")
    return True
