"""The report's files in a run's folder: ``summary.json``, ``equity.csv``,
``trades.csv`` and ``equity.png`` (equity with drawdown shading and trade
markers, and a leverage panel). Only writing lives here; every figure is
computed in :mod:`dydx_trader.report`."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from dydx_trader.report.summary import EquitySample, money, ratio
from dydx_trader.report.trips import FillRow


def write_summary(folder: Path, summary: Mapping[str, object]) -> Path:
    path = folder / "summary.json"
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return path


def write_equity_csv(folder: Path, samples: Sequence[EquitySample]) -> Path:
    """One row per sample: time (UTC), equity USDC, leverage x, margin usage."""
    path = folder / "equity.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", "equity_usdc", "leverage", "margin_usage"])
        for sample in samples:
            writer.writerow(
                [
                    f"{sample.at:%Y-%m-%dT%H:%M:%SZ}",
                    money(sample.equity),
                    ratio(sample.leverage),
                    ratio(sample.margin_usage),
                ]
            )
    return path


def write_trades_csv(folder: Path, fills: Sequence[FillRow]) -> Path:
    """One row per fill: time (UTC), market, side, size, price, fee, strategy, signal."""
    path = folder / "trades.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["time", "market", "side", "size", "price", "fee_usdc", "strategy", "signal_id"]
        )
        for fill in sorted(fills, key=lambda f: f.at):
            writer.writerow(
                [
                    f"{fill.at:%Y-%m-%dT%H:%M:%SZ}",
                    fill.market,
                    fill.side,
                    f"{fill.size:f}",
                    f"{fill.price:f}",
                    money(fill.fee),
                    fill.strategy,
                    fill.signal_id,
                ]
            )
    return path


def write_chart(
    folder: Path, samples: Sequence[EquitySample], fills: Sequence[FillRow], title: str
) -> Path | None:
    """``equity.png``: equity with its drawdown from the running peak shaded and
    each fill marked (buys up, sells down), leverage below. ``None`` with fewer
    than two samples."""
    if len(samples) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt

    times = [s.at for s in samples]
    # Plotting needs floats; the figures themselves stay Decimal in the CSV and JSON.
    equity = [float(s.equity) for s in samples]
    peaks = [max(equity[: k + 1]) for k in range(len(equity))]
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot(times, equity, color="tab:blue", linewidth=1.2, label="equity")
    top.fill_between(times, equity, peaks, color="tab:red", alpha=0.2, label="drawdown")
    for side, marker, color in (("BUY", "^", "tab:green"), ("SELL", "v", "tab:red")):
        marked = [f.at for f in fills if f.side == side]
        if marked:
            top.scatter(
                marked,
                [_equity_at(samples, at) for at in marked],
                marker=marker,
                color=color,
                s=22,
                zorder=3,
                label=side.lower(),
            )
    top.set_ylabel("equity (USDC)")
    top.set_title(title)
    top.grid(alpha=0.3)
    top.legend(loc="upper left", fontsize="small")
    bottom.plot(times, [float(s.leverage) for s in samples], color="tab:orange")
    bottom.set_ylabel("leverage (x)")
    bottom.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    image = folder / "equity.png"
    figure.savefig(image, dpi=100)
    plt.close(figure)
    return image


def _equity_at(samples: Sequence[EquitySample], at: datetime) -> float:
    """The equity of the last sample at or before ``at`` (the first if none)."""
    chosen = samples[0]
    for sample in samples:
        if sample.at > at:
            break
        chosen = sample
    return float(chosen.equity)
