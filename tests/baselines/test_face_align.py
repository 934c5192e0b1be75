"""FFHQ alignment on real photos that install offline; named outcomes for no / several faces."""

from __future__ import annotations

import matplotlib.cbook
import numpy as np
import pytest
import skimage.data
from PIL import Image

from baselines.align import FaceAligner, MultipleFacesError, NoFaceError, eye_centres, ffhq_quad

pytest.importorskip("dlib")
SIZE = 256
# Where FFHQ puts the eye centres (fraction of the crop side): x 0.375 / 0.625, y 0.475.
FFHQ_EYES = np.array([[0.375, 0.475], [0.625, 0.475]])
TOL = 0.03


@pytest.fixture(scope="module")
def aligner() -> FaceAligner:
    return FaceAligner(output_size=SIZE, policy="largest")


def _photo(name: str) -> Image.Image:
    if name == "astronaut":
        return Image.fromarray(skimage.data.astronaut())
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        return Image.open(fh).convert("RGB")


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_eyes_land_where_ffhq_puts_them(aligner: FaceAligner, name: str) -> None:
    result = aligner(_photo(name))
    assert result.image.size == (SIZE, SIZE) and result.n_faces >= 1
    lm, n, _ = aligner.landmarks(result.image)  # re-detect on the aligned crop
    assert n == 1
    eyes = np.stack(eye_centres(lm)) / SIZE
    np.testing.assert_allclose(eyes, FFHQ_EYES, atol=TOL)


def test_policies_for_several_faces(aligner: FaceAligner) -> None:
    # HOG finds the astronaut's face plus one spurious box: "error" names the situation
    aligner.policy = "error"
    try:
        with pytest.raises(MultipleFacesError, match="2 faces"):
            aligner.landmarks(_photo("astronaut"))
        aligner.policy = "last"
        assert aligner.landmarks(_photo("grace_hopper"))[1] == 1
    finally:
        aligner.policy = "largest"
    with pytest.raises(ValueError, match="policy"):
        FaceAligner(policy="first")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["coffee", "flat"])
def test_no_face_is_a_named_error(aligner: FaceAligner, kind: str) -> None:
    img = Image.fromarray(skimage.data.coffee()) if kind == "coffee" else Image.new("RGB", (200, 200), (128,) * 3)
    with pytest.raises(NoFaceError):
        aligner(img)


def test_quad_geometry() -> None:
    lm = np.zeros((68, 2))
    lm[36:42] = [40.0, 50.0]
    lm[42:48] = [60.0, 50.0]
    lm[48] = [42.0, 80.0]
    lm[54] = [58.0, 80.0]
    quad, qsize = ffhq_quad(lm)
    # upright face: axis-aligned square of side max(2 * 2 * 20, 2 * 1.8 * 30) = 108 centred below the eyes
    np.testing.assert_allclose(qsize, 108.0)
    np.testing.assert_allclose(quad.mean(axis=0), [50.0, 53.0])
    np.testing.assert_allclose(quad[0], [50.0 - 54, 53.0 - 54])
