"""Start-up: seconds from ``python space/app.py`` to a page that answers, on a machine with no network (issue 26:
"Start-up that does not import the world", goal ≤ 10 s on 2 cores).

    python bench/bench_startup.py [--baseline_ref c89234a] [--runs 3]

Each run is a fresh process, as a user starts it: no ``--model``, the Hub unreachable (``HF_ENDPOINT`` on a port
where nothing listens), so the app says so in one line and serves the ASL starter shipped with it. Figure: the
median time until ``GET /`` answers 200. Also measured: ``--model someone/missing`` with the same dead Hub, the time
to the one-line error. Baseline in the same run: the same two measurements on ``--baseline_ref`` (a temporary git
worktree, its own ``signspace`` first on the path), the code before the change.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from common import emit, run_main  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(root: Path, cache: Path) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(root),  # this checkout's signspace, before any installed one
        "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}",  # nothing listens: the Hub cannot be reached
        "HF_HOME": str(cache),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }


def to_page(root: Path, cache: Path, limit: float = 120.0) -> float:
    """Seconds from the command to the page answering (the starter serving, the Hub unreachable)."""
    port = free_port()
    started = time.monotonic()
    app = subprocess.Popen(
        [sys.executable, str(root / "space" / "app.py"), "--port", str(port), "--data_dir", str(cache / "signs")],
        env=environment(root, cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.monotonic() - started < limit:
            if app.poll() is not None:
                raise RuntimeError(f"{root}: the app exited with {app.returncode} before serving")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{root}: no page after {limit} s")
    finally:
        app.terminate()
        app.wait(30)


def to_error(root: Path, cache: Path) -> float:
    """Seconds from the command to the one-line error for a named model the dead Hub cannot give."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(root / "space" / "app.py"), "--model", "someone/missing"],
        env=environment(root, cache),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode == 0:
        raise RuntimeError(f"{root}: a missing model was served")
    return time.monotonic() - started


def measure(root: Path, runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="signspace-startup-") as cache:
        to_page(root, Path(cache))  # warms the OS file cache, as a second start would find it
        page = statistics.median(to_page(root, Path(cache)) for _ in range(runs))
        error = statistics.median(to_error(root, Path(cache)) for _ in range(runs))
    return page, error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline_ref", default="c89234a", help="the commit to compare with")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="signspace-baseline-") as worktree:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", worktree, args.baseline_ref], check=True)
        try:
            before_page, before_error = measure(Path(worktree), args.runs)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", worktree], check=True)
    page, error = measure(ROOT, args.runs)
    emit(
        "startup_to_page_offline",
        page,
        "s",
        before_page,
        f"the same, at {args.baseline_ref}",
        higher_is_better=False,
        offline_error_seconds=round(error, 2),
        offline_error_seconds_baseline=round(before_error, 2),
        runs=args.runs,
        goal_seconds=10,
    )


if __name__ == "__main__":
    run_main(main)
