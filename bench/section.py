"""Runs one section in a process of its own, with the app's environment and Django set
up, and writes its figures as JSON:

    python -m bench.section NAME --scale full --database bench_app --out figures.json

(`bench.run` starts it; the stdout of a section is the console e-mail backend's, so the
figures go to a file.)"""

import argparse
import importlib
import json
from pathlib import Path

from . import boot
from .config import SCALES

MODULES = {
    "services": "bench.services_bench",
    "http": "bench.http_bench",
    "realtime": "bench.realtime_bench",
    "data": "bench.data_bench",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.section")
    parser.add_argument("name", choices=sorted(MODULES))
    parser.add_argument("--scale", choices=sorted(SCALES), required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    boot.django()
    module = importlib.import_module(MODULES[args.name])
    figures = module.measure(
        SCALES[args.scale], database=args.database, run_id=args.run_id, logs=args.logs
    )
    args.out.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
