"""Fine-tune a sign recognizer (an image model, or a landmark sequence model) with the HF Trainer, then publish it.

    accelerate launch train/finetune.py --dataset_dir my-signs --output_dir my-model [Trainer flags…]
    python train/finetune.py config.yaml          # the same options from a JSON/YAML file

Runs on CPU, one GPU or several (DDP) unchanged; resumes from the last complete checkpoint in --output_dir.
The work is in signspace/train/finetune.py (shared with the app's Teach tab).
"""

from __future__ import annotations

import sys

from signspace.core.errors import run_cli
from signspace.train.finetune import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(run_cli(main))
