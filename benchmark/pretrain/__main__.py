"""``python -m benchmark.pretrain``."""

import sys

from benchmark.pretrain.run import main

sys.exit(main())
