"""Python-native load-testing suite for the telecom BSS backend, built on Locust."""

__version__ = "0.1.0"
