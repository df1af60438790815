"""``python -m openefd.query.downsample > docs/reference/operators.md``."""

from __future__ import annotations

import sys

from openefd.query.downsample.docs import operators_markdown

if __name__ == "__main__":
    sys.stdout.write(operators_markdown())
