"""The example method passes osasis-bench's contract (run after installing the package: pytest tests)."""

from benchmark.testing import MethodContract


class TestTintedSketch(MethodContract):
    method_name = "example-sketch"

    def tiny_config(self, tmp_path):
        return {"blur": 3}
