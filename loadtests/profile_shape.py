"""The suite's one load shape: follows the stages of ``--profile``, or plain Locust without one."""

from bss_loadtest.run import plugin
from bss_loadtest.run.shape import ProfileShape  # noqa: F401  (Locust picks the shape up from here)

plugin.register()
