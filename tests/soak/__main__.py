"""``python -m soak`` plays the soak (:mod:`soak.runner`); ``python -m soak worker`` is
one of its workers; ``python -m soak scenarios [f1 f1b f2 f3 f4 f5]`` plays the
review's scenarios (:mod:`soak.scenarios`)."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        from soak.worker import main

        raise SystemExit(main())
    if sys.argv[1:2] == ["scenarios"]:
        from soak.worker import scenarios_main

        raise SystemExit(scenarios_main(sys.argv[2:]))
    from soak.runner import main

    raise SystemExit(main())
