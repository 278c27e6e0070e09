#!/usr/bin/env python3
"""Thin entry point: `python drill.py ...` is the same as `drill ...`."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))

from bcdrill.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
