"""A failed citizen ID solved from the recogniser's per-frame scores (digitise/id_frames.py, issue 39): only a
valid number encoding the page's birth date, only when the frames prefer it clearly to every other one."""

import random

import numpy as np

from digitise import id_frames
from digitise.citizen_id import is_valid
from digitise.specimen import person

GAP = 0


def frames(text: str, doubt: dict[int, dict[str, float]] | None = None, gaps: bool = True) -> np.ndarray:
    """Frame scores as a recogniser gives them for `text`: three frames a character, a gap frame after each
    (unless `gaps` is off); at the places in `doubt`, the character's frames split between figures as given
    ("" for the gap)."""
    doubt = doubt or {}
    rows = []
    for i, c in enumerate(text):
        share = doubt.get(i, {c: 1.0})
        row = np.full(12, 1e-6)
        for figure, p in share.items():
            row[id_frames.FIGURES.index(figure) + 1 if figure else GAP] = p
        rows += [row] * 3
        if gaps:
            gap = np.full(12, 1e-6)
            gap[GAP] = 1.0
            rows.append(gap)
    probs = np.array(rows)
    return np.log(probs / probs.sum(axis=1, keepdims=True))


def _one_figure_off() -> tuple[str, str, int, str]:
    """A valid ID, the same with one serial figure made wrong (invalid), that place, and the wrong figure."""
    who = person(random.Random(77))
    number = who.citizen_id
    for at in (14, 15, 16):
        for d in "0123456789":
            wrong = number[:at] + d + number[at + 1 :]
            if d != number[at] and not is_valid(wrong):
                return number, wrong, at, d
    raise AssertionError("no invalid one-figure change")


def test_the_ctc_likelihood_prefers_what_the_frames_show_and_merges_a_repeat_without_a_gap():
    shown = frames("1123")
    scores = id_frames.likelihood(shown, ["1123", "1223"])
    assert scores[0] > scores[1] + 10
    assert id_frames.likelihood(shown, ["123"])[0] < scores[0] - 10  # the gap between the 1s is seen: two 1s
    merged = frames("1123", gaps=False)  # no gap seen between the 1s: the frames say one 1
    assert id_frames.likelihood(merged, ["123"])[0] > id_frames.likelihood(merged, ["1123"])[0]
    assert id_frames.best_path(shown) == "1123" and id_frames.best_path(merged) == "123"


def test_a_figure_the_frames_doubt_between_two_is_solved_by_the_check_character_and_the_birth_date():
    number, wrong, at, figure = _one_figure_off()
    born = (f"{number[6:10]}-{number[10:12]}-{number[12:14]}",)
    # The reader's best figure at that place is the wrong one, the right one close behind.
    shown = frames(number, {at: {figure: 0.55, number[at]: 0.45}})
    assert id_frames.best_path(shown) == wrong
    assert id_frames.solved([shown], [wrong], born) == number
    # Without a birth date read elsewhere on the page, or with another one, nothing is solved.
    assert id_frames.solved([shown], [wrong], ()) is None
    other = (f"{int(number[6:10]) + 1}-{number[10:12]}-{number[12:14]}",)
    assert id_frames.solved([shown], [wrong], other) is None


def test_a_lost_figure_is_added_only_where_the_frames_show_it():
    number, _, _, _ = _one_figure_off()
    born = (f"{number[6:10]}-{number[10:12]}-{number[12:14]}",)
    # The check character seen faintly (a gap more likely in its frames): the reading lost it.
    faint = frames(number, {17: {number[17]: 0.3, "": 0.7}})
    read = id_frames.best_path(faint)
    assert read == number[:17]
    assert id_frames.solved([faint], [read], born) == number
    # The last two places doubted, each between two figures, so that two valid numbers fit the frames alike
    # (the check character of each is the other's doubted figure): refused, the reading stays as it was.
    other = str((int(number[16]) + 5) % 10)
    twin = number[:16] + other + _check(number[:16] + other)
    doubted = frames(number, {16: {number[16]: 0.5, other: 0.5}, 17: {number[17]: 0.5, twin[17]: 0.5}})
    found = id_frames.ranked([doubted], [number[:17]], born)
    assert {n for n, _ in found[:2]} == {number, twin}
    assert abs(found[0][1] - found[1][1]) < 0.01
    assert id_frames.solved([doubted], [number[:17]], born) is None


def _check(first17: str) -> str:
    from digitise.citizen_id import check_char

    return check_char(first17)


def test_the_figure_runs_of_a_reading_are_read_through_look_alikes():
    assert id_frames.figure_runs("公民身份号码11010219600106557x") == ["11010219600106557X"]
    assert id_frames.figure_runs("1101021960O106557l参加") == ["11010219600106557" + "1"]
    assert id_frames.figure_runs("11010219600106557参加") == ["11010219600106557"]
    assert id_frames.figure_runs("110102196001065571234") == []  # 21 figures: no ID near it
