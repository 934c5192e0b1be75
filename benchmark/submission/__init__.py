"""Results-only submissions, a pipeline-stage concern: the folder protocol, its validation, and evaluating a
submission with the pipeline's metrics. Ranking is a report concern: :mod:`benchmark.report.ranking`.

* :mod:`benchmark.submission.protocol`: the submission folder layout (what files are expected);
* :mod:`benchmark.submission.validate`: checks a submission folder without executing anything in it;
* :mod:`benchmark.submission.submit`: validate + evaluate a submission with the pipeline's metrics.
"""
