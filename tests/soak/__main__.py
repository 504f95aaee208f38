"""``python -m soak`` plays the soak (:mod:`soak.runner`); ``python -m soak worker``
is one of its workers."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        from soak.worker import main
    else:
        from soak.runner import main
    raise SystemExit(main())
