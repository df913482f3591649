"""The pure core: statistics, profiles, thresholds, failure classes, errors. Never imports Locust."""
