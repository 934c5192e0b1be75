"""Full-size dry run of the paper profile with random weights (``osasis-bench dryrun``)."""
