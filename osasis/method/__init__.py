"""OSASIS as a benchmark method: style pair, fine-tuning, stylization, text editing (see docs/OSASIS.md).

The plug-in class is :class:`osasis.method.plugin.OSASIS` (registered lazily as ``osasis``); the CLI's
``osasis-bench edit`` calls :func:`osasis.method.api.edit_images`.
"""
