"""Neural network building blocks shared by metrics and baselines."""
