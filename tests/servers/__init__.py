"""Private servers for the tests: real binaries on free loopback ports, always stopped.

Each server module exposes a small handle (host, port, url, and ways to inject faults) and a
``start_*`` context manager; ``tests/conftest.py`` turns them into fixtures.
"""
