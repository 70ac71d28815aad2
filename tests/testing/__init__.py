"""What the tests (and a few benches) share: real git repositories, real processes and
servers on 127.0.0.1, bounded waits, and the command-line tools found beside the running
interpreter or on PATH.

Every test module imports it as ``tests.testing``: ``tests`` is a package, so pytest's
default import mode puts the repository root on ``sys.path`` before it imports the root
``tests/conftest.py``.
"""
