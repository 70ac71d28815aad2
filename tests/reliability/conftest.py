"""The reliability suite's helpers live in reliability_support.py and crash_loops.py
(uniquely named modules, so that bench/reliability.py can import them too)."""
