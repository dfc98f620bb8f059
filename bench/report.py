"""The table: each figure beside its reference from the same run, their ratio, and the
target it is held to (pass / miss; blank where the figure has no target)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    section: str
    measure: str
    value: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    ok: bool | None = None


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _rate(value: float) -> str:
    return f"{value:.1f}/s"


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %"


def services_rows(figures: dict, pgbench: dict) -> list[Row]:
    rows = []
    goals = {"accept": 0.30, "confirm": 0.15}
    for clients, measured in figures.items():
        tps = pgbench[clients]
        for operation, goal in goals.items():
            rate = measured[operation]
            held = clients == "8"
            rows.append(
                Row(
                    "services",
                    f"{operation} @{clients} procs",
                    _rate(rate),
                    f"pgbench {tps:.0f} tps",
                    _share(rate, tps),
                    f"≥ {goal:.0%}" if held else "",
                    rate >= goal * tps if held else None,
                )
            )
    if "1" in figures and "8" in figures:
        one, eight = figures["1"]["confirm"], figures["8"]["confirm"]
        rows.append(
            Row(
                "services",
                "confirm scaling 8 vs 1",
                _rate(eight),
                f"@1: {_rate(one)}",
                f"{eight / one:.2f}x",
                "≥ 1.5x",
                eight >= 1.5 * one,
            )
        )
    return rows


def http_rows(figures: dict, pgbench: dict) -> list[Row]:
    rows = []
    for clients, runs in figures.items():
        stretch = clients == "16"
        ceiling = runs["me"]
        limit = 50 if stretch else 100
        held_latency = clients in ("8", "16")
        for name, run in runs.items():
            label = f"{name} @{clients}"
            if run["failures"]:
                label += f" ({run['failures']} failed)"
            value = f"{_rate(run['rps'])} p50 {run['p50_ms']:.0f} p99 {run['p99_ms']:.0f} ms"
            if name in ("discovery", "messages"):
                rows.append(
                    Row(
                        "http",
                        label,
                        value,
                        f"me {_rate(ceiling['rps'])}",
                        _share(run["rps"], ceiling["rps"]),
                        "≥ 40 % of me",
                        run["rps"] >= 0.4 * ceiling["rps"] and not run["failures"],
                    )
                )
            elif name in ("accept", "confirm"):
                tps = pgbench.get(clients)
                held = name == "accept" and clients == "8" and tps is not None
                rows.append(
                    Row(
                        "http",
                        label,
                        value,
                        f"pgbench {tps:.0f} tps" if tps else "",
                        _share(run["rps"], tps) if tps else "",
                        "≥ 5 % of pgbench" if held else "",
                        run["rps"] >= 0.05 * tps and not run["failures"] if held else None,
                    )
                )
            else:
                rows.append(Row("http", label, value, "(the ceiling)", ok=not run["failures"]))
            if name in ("accept", "discovery") and held_latency:
                p99 = run["p99_ms"]
                rows.append(
                    Row(
                        "http",
                        f"p99 {name} @{clients}",
                        _ms(p99),
                        f"me p99 {_ms(ceiling['p99_ms'])}",
                        f"{p99 / max(ceiling['p99_ms'], 1):.1f}x",
                        f"< {limit} ms" + (" (stretch)" if stretch else ""),
                        p99 < limit,
                    )
                )
    return rows


def realtime_rows(figures: dict) -> list[Row]:
    chat, redis = figures["chat"], figures["redis"]
    return [
        Row(
            "realtime",
            f"chat {percentile} send→last of {figures['clients']}",
            _ms(chat[f"{percentile}_ms"]),
            f"redis pub→sub {_ms(redis[f'{percentile}_ms'])}",
            f"{chat[f'{percentile}_ms'] / redis[f'{percentile}_ms']:.0f}x",
            "< 50 ms" if percentile == "p99" else "",
            chat["p99_ms"] < 50 if percentile == "p99" else None,
        )
        for percentile in ("p50", "p99")
    ]


def data_rows(figures: dict) -> list[Row]:
    small, large = figures["small"], figures["large"]
    growth = large["rows"] / small["rows"]
    rows = []
    for name, timing in large["timings"].items():
        before = small["timings"][name]
        if name == "statement CSV":
            for size, measured in (("small", before), ("large", timing)):
                first = measured["first_byte_s"]
                rows.append(
                    Row(
                        "data",
                        f"statement first byte ({size})",
                        _ms(1000 * first),
                        "",
                        "",
                        "< 1 s",
                        first < 1,
                    )
                )
            rows.append(
                Row(
                    "data",
                    "statement total",
                    _ms(1000 * timing["total_s"]),
                    f"small {_ms(1000 * before['total_s'])}",
                    f"{timing['total_s'] / before['total_s']:.1f}x",
                )
            )
            continue
        ratio = timing["total_s"] / before["total_s"]
        rows.append(
            Row(
                "data",
                f"{name} ({growth:.0f}x data)",
                _ms(1000 * timing["total_s"]),
                f"small {_ms(1000 * before['total_s'])}",
                f"{ratio:.2f}x",
                "< 2x",
                ratio < 2,
            )
        )
    return rows


def reconcile_row(clean: dict[str, bool]) -> Row:
    databases = ", ".join(f"{name} {'clean' if ok else 'NOT CLEAN'}" for name, ok in clean.items())
    return Row("ledger", "manage.py reconcile", databases, target="clean", ok=all(clean.values()))


def table(rows: list[Row]) -> str:
    header = ("section", "measure", "value", "reference", "ratio", "target", "result")
    cells = [header] + [
        (
            r.section,
            r.measure,
            r.value,
            r.reference,
            r.ratio,
            r.target,
            "" if r.ok is None else ("pass" if r.ok else "MISS"),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
