"""Turn folders of sign frames and videos into a validated, leak-free dataset.

    python train/build_dataset.py --data_dir DATA --output_dir OUT [--group_pattern REGEX] [--push_to_hub ...]
    python train/build_dataset.py --data_dir DATA --output_dir OUT --features landmarks   # motion signs

DATA holds one folder per sign. OUT receives a `datasets.DatasetDict` (train / validation / test)
and `build_report.json`. See README.md for the folder layouts; the work is in signspace/data/build_dataset.py.
"""

from __future__ import annotations

import sys

from signspace.core.errors import run_cli
from signspace.data.build_dataset import main


def cli_main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: main(argv))


def cli() -> int:
    return cli_main()


if __name__ == "__main__":
    sys.exit(cli())
