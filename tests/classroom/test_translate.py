"""The Korean edition stays in step with the English notebooks: every markdown cell translated from the
current English text, every code cell and output byte-identical."""

from __future__ import annotations

import copy

import nbformat
import pytest

from lecture_vae.classroom import translate

PAIRS = translate.pairs()


@pytest.mark.parametrize("en_path, ko_path", PAIRS, ids=[p.stem for p, _ in PAIRS])
def test_korean_notebook_is_in_step_with_english(en_path, ko_path):
    assert ko_path.is_file(), f"{ko_path} is missing: python -m lecture_vae.classroom.translate sync {en_path.stem[:2]}"
    en, ko = nbformat.read(en_path, as_version=4), nbformat.read(ko_path, as_version=4)
    stale = translate.status(en, ko, ko_path.name)
    assert not stale, "\n".join(map(str, stale))


def _pair():
    en = nbformat.v4.new_notebook()
    en.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nThe ELBO is a lower bound.", id="m1"),
        nbformat.v4.new_code_cell("x = 1\nx", id="c1"),
        nbformat.v4.new_markdown_cell("The gap is a KL divergence.", id="m2"),
    ]
    en.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "1"}, execution_count=1)]
    ko = translate.sync(en, None)
    for cell, text in zip(
        (ko.cells[0], ko.cells[2]), ("# 제목\n\nELBO는 하한이다.", "간격은 KL 발산이다."), strict=True
    ):
        cell.source = text
        translate.stamp(en, ko, cell.id)
    return en, ko


def test_status_is_empty_for_a_fresh_translation():
    en, ko = _pair()
    assert translate.status(en, ko, "nb") == []
    assert ko.cells[1] == en.cells[1]


def test_changing_one_english_sentence_names_the_cell():
    en, ko = _pair()
    en.cells[2].source = "The gap is the KL divergence to the true posterior."
    stale = translate.status(en, ko, "nb")
    assert [(s.cell, "changed" in s.what) for s in stale] == [("m2", True)]
    # sync keeps the old translation (still stale) until it is revised and stamped
    ko = translate.sync(en, ko)
    assert ko.cells[2].source == "간격은 KL 발산이다."
    assert [s.cell for s in translate.status(en, ko, "nb")] == ["m2"]
    ko.cells[2].source = "간격은 참 사후 분포까지의 KL 발산이다."
    translate.stamp(en, ko, "m2")
    assert translate.status(en, ko, "nb") == []


def test_added_and_removed_english_cells_are_reported():
    en, ko = _pair()
    en2 = copy.deepcopy(en)
    en2.cells.append(nbformat.v4.new_markdown_cell("## Summary", id="m3"))
    assert [(s.cell, "added" in s.what) for s in translate.status(en2, ko, "nb")] == [("m3", True)]
    en3 = copy.deepcopy(en)
    del en3.cells[2]
    assert ["removed" in s.what for s in translate.status(en3, ko, "nb")] == [True]


def test_a_code_cell_or_output_that_differs_is_reported():
    en, ko = _pair()
    ko.cells[1].outputs[0]["data"]["text/plain"] = "2"
    assert [s.cell for s in translate.status(en, ko, "nb")] == ["c1"]
    ko = translate.sync(en, ko)  # sync copies code cells and outputs from English
    assert translate.status(en, ko, "nb") == []


def test_stamp_refuses_a_cell_that_is_not_english_markdown():
    en, ko = _pair()
    with pytest.raises(ValueError, match="cell_id must name a markdown cell"):
        translate.stamp(en, ko, "c1")
