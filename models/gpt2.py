"""``python -m models.gpt2``: the GPT2 accelerator (see models/README.md)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main("gpt2"))
