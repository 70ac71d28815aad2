"""``python -m gitsync.hooks``: the entry point installed hooks run (kept light: no click)."""

from __future__ import annotations

import sys

from gitsync.hooks.receive import main

sys.exit(main())
