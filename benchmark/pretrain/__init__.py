"""Training the smoke profile's tiny pretrained models on the procedural face domain (official file layouts).

``python -m benchmark.pretrain --all --out data/smoke/models`` retrains everything from scratch; see
``docs/SMOKE_MODELS.md`` for the recipes, sizes and measured quality.
"""
