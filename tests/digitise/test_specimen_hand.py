"""The handwritten specimen generator (digitise/specimen_hand.py): a page depends on its seed and index alone —
the bench's figures of a seed are only comparable between runs if the runs read the same pages."""

import random

import numpy as np
from PIL import Image

from digitise.specimen import person
from digitise.specimen_hand import draw_hand_page, page_rng


def _content(seed: int, index: int):
    who = person(random.Random(seed))
    page = draw_hand_page(page_rng(seed, index), who, altered=index % 4 == 3, dpi=100)
    facts = (page.title, page.hand, page.birth_written, page.id_written, page.work_start_iso, page.altered, page.text)
    return facts, np.asarray(page.image)


def test_a_page_depends_on_its_seed_and_index_alone_not_on_what_was_drawn_before_it():
    # Drawn in one order, then again in another, with PIL's own noise (the C library's generator) drawn
    # in between as other code in the process would: each page comes out pixel for pixel the same.
    first = {i: _content(3101, i) for i in range(3)}
    Image.effect_noise((64, 64), 30)
    again = {i: _content(3101, i) for i in (2, 0, 1)}
    for i in range(3):
        assert first[i][0] == again[i][0]
        assert np.array_equal(first[i][1], again[i][1]), f"page {i} drawn twice differs"
    # And the pages are not all one page: the index and the seed each draw another.
    assert first[0][0] != first[1][0]
    assert _content(3102, 0)[0] != first[0][0]
