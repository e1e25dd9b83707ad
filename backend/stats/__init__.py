"""Statistics: pure definitions of the figures (service time, coverage, targets); see docs/statistics.md."""
