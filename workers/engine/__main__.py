"""``python -m workers.engine spec.yaml --out DIR``: the headless runner."""

import sys

from workers.engine.headless import main

sys.exit(main())
