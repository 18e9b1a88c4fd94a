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


def test_centring_on_the_language_mean_lets_meaning_beat_language() -> None:
    from services.tagger.dense import LanguageMeans

    rng = np.random.default_rng(5)
    zh, en, topic_a, topic_b = (rng.standard_normal(384).astype(np.float32) for _ in range(4))
    zh, en = 0.8 * zh / np.linalg.norm(zh), 0.8 * en / np.linalg.norm(en)  # the language component
    topic_a, topic_b = 0.6 * topic_a / np.linalg.norm(topic_a), 0.6 * topic_b / np.linalg.norm(topic_b)
    means = LanguageMeans(passage_zh=zh, passage_en=en, query_zh=zh, query_en=en)
    documents = [pack(en + topic_a), pack(zh + topic_b)]  # English about a, Chinese about b
    question = zh + topic_a  # Chinese, about a
    raw = DenseIndex(documents)
    assert raw.search(raw.query(question, chinese=True), 1)[0][0][0] == 1  # language wins without centring
    centred = DenseIndex(documents, chinese=[False, True], means=means)
    assert centred.search(centred.query(question, chinese=True), 1)[0][0][0] == 0


def test_shipped_language_means_load() -> None:
    from services.tagger.dense import language_means

    means = language_means()
    assert means.passage_zh.shape == (384,)
    assert float(np.linalg.norm(means.passage_zh - means.passage_en)) > 0.05
