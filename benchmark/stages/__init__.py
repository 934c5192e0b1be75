"""Pipeline stages, one module each; ``dvc.yaml`` calls them through the ``osasis-bench`` CLI."""
