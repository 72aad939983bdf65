"""``python -m models.bert``: the BERT accelerator (see models/README.md)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main("bert"))
