"""Feature extractors used by the metrics, their weight loading, and the on-disk feature cache."""
