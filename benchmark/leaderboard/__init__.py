"""The leaderboard: ranked tables per split × reference set, and results-only submissions.

* :mod:`benchmark.leaderboard.ranking`: the ranking rule, costs, Markdown/CSV/HTML tables;
* :mod:`benchmark.leaderboard.protocol`: the submission folder layout (what files are expected);
* :mod:`benchmark.leaderboard.validate`: checks a submission folder without executing anything in it;
* :mod:`benchmark.leaderboard.submit`: validate + evaluate a submission with the pipeline's metrics.
"""
