import numpy as np

from services.tagger.dense import DenseIndex, pack, unpack


def test_packed_vectors_keep_their_cosine_and_fit_in_520_bytes() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(384).astype(np.float32), rng.standard_normal(384).astype(np.float32)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    packed = pack(a)
    assert len(packed) <= 520
    vector, scale = unpack(packed)
    assert abs(float((vector.astype(np.float32) * scale) @ b) - float(a @ b)) < 0.01


def test_exact_and_inverted_file_search_find_the_nearest() -> None:
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((3000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    packed: list[str | None] = [pack(v) for v in vectors]
    packed[5] = None  # a tag without a vector takes no part
    target = vectors[1234] + 0.05 * rng.standard_normal(384).astype(np.float32)
    target /= np.linalg.norm(target)
    for index in (DenseIndex(packed), DenseIndex(packed, exact_limit=100)):
        ranked, mean, std = index.search(target, 3)
        assert ranked[0][0] == 1234
        assert ranked[0][1] > mean + 3 * std
        assert index.similarity(target, 5) is None
        assert len(index) == 2999
