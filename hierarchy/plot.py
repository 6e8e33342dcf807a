"""The per-layer dev curves of a training run, as a PNG beside the model."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .fileio import atomic_write  # noqa: E402


def plot_history(history: list[dict], path) -> None:
    """One line per dev score (``pos/upos/acc``, ``deps/deps/las``, ``relatedness/relatedness/pearson``...)
    against the epoch."""
    series: dict[str, list[tuple[int, float]]] = {}
    for line in history:
        for task, metrics in line["dev"].items():
            for name, values in metrics.items():
                for key in ("acc", "f1", "uas", "las", "pearson"):
                    if key in values:
                        series.setdefault(f"{name} {key}", []).append((line["epoch"], values[key]))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in sorted(series.items()):
        ax.plot(*zip(*points), marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("dev score (%)")
    ax.set_title("Dev scores per layer")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
