"""False alarms of benchmark runs made apart, with and without calibration (issue 14 §2).

A team that measures each commit in its own CI job compares two separate `perfeng bench
--fast` runs. Here each pair runs the same benchmark file twice, one run of the pair with a
CPU hog on both cores (a shared runner's neighbour), alternating which side gets it. Each pair
is compared twice by `perfeng compare`: as written (with calibration: head divided by the
machine's ratio, `inconclusive` when the machine moved more than --min-effect and the verdict
depends on it), and with the `calibration` sections removed (what perfeng did before). A
false alarm is a `slower` verdict on identical code.

`--hog none` runs both sides without a hog: the plain noise of a shared machine.
`--effect 0.5` makes head do 50 % more work in every pair (the same hog schedule): the
detection rate of a change larger than the machine's shift.

    .venv/bin/python benchmarks/separate_runs.py [--pairs 20] [--effect 0.0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERFENG = [sys.executable, "-m", "perfeng"]
BENCH_FILE = """\
from perfeng import bench

WORK = {work}


@bench
def sort_records():
    sorted((i * 7919) % 10007 for i in range(WORK))


@bench
def join_words():
    "-".join(str(i) for i in range(WORK))
"""


class Hog:
    """Two busy processes, one per core, for the duration of a run."""

    def __enter__(self) -> Hog:
        code = "while True: pass"
        self.procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


def bench(folder: Path, out: Path, hog: bool) -> None:
    command = [*PERFENG, "bench", str(folder), "--fast", "--quiet", "--out", str(out)]
    if hog:
        with Hog():
            subprocess.run(command, check=True, cwd=ROOT)
    else:
        subprocess.run(command, check=True, cwd=ROOT)


def verdicts(base: Path, head: Path) -> list[str]:
    done = subprocess.run(
        [*PERFENG, "compare", str(base), str(head), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return [row["verdict"] for row in json.loads(done.stdout)["rows"]]


def stripped(path: Path) -> Path:
    document = json.loads(path.read_text())
    document.pop("calibration", None)
    out = path.with_suffix(".plain.json")
    out.write_text(json.dumps(document))
    return out


def machine(base: Path, head: Path) -> float | None:
    done = subprocess.run(
        [*PERFENG, "compare", str(base), str(head), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    found = json.loads(done.stdout)["machine"]
    return None if found is None else float(found["ratio"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--effect", type=float, default=0.0, help="head's extra work, 0.5 = +50 %")
    parser.add_argument(
        "--hog", choices=["alternate", "none"], default="alternate", help="CPU hog schedule"
    )
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="separate-runs-")
    base_dir, head_dir = Path(work, "base"), Path(work, "head")
    base_dir.mkdir()
    head_dir.mkdir()
    (base_dir / "bench_work.py").write_text(BENCH_FILE.format(work=20_000))
    head_work = round(20_000 * (1 + args.effect))
    (head_dir / "bench_work.py").write_text(BENCH_FILE.format(work=head_work))
    calibrated: Counter[str] = Counter()
    plain: Counter[str] = Counter()
    print("pair  hog   machine  calibrated            plain")
    for pair in range(args.pairs):
        hog_head = pair % 2 == 0
        hogged = args.hog == "alternate"
        base, head = Path(work, f"base{pair}.json"), Path(work, f"head{pair}.json")
        bench(base_dir, base, hog=hogged and not hog_head)
        bench(head_dir, head, hog=hogged and hog_head)
        with_cal = verdicts(base, head)
        without = verdicts(stripped(base), stripped(head))
        calibrated.update(with_cal)
        plain.update(without)
        ratio = machine(base, head)
        shown = f"{ratio:.2f}" if ratio is not None else "-"
        side = "-" if not hogged else "head" if hog_head else "base"
        print(f"{pair:>4}  {side:<4}  {shown:>7}  {','.join(with_cal):<20}  {','.join(without)}")
    total = sum(calibrated.values())
    print(f"\n{total} comparisons (benchmarks x pairs), head work x{1 + args.effect:g}")
    print(f"calibrated: {dict(calibrated)}")
    print(f"plain:      {dict(plain)}")


if __name__ == "__main__":
    main()
