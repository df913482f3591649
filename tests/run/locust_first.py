"""pytest plugin of the glue test process: import Locust, so gevent patches the standard library
before anything imports ssl (``-p tests.run.locust_first`` with plugin auto-loading off)."""

import locust  # noqa: F401
