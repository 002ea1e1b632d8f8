"""``python -m bench``: see ``bench/run.py`` and ``bench/README.md``."""

from bench.run import entry_point

entry_point()
