"""The attribute-value conversion every data-access module uses (no emulator needed)."""

import pytest

from functions.dal.items import from_attributes, to_attributes


def test_documents_round_trip_with_exact_numbers():
    doc = {"s": "x", "i": 3, "f": 0.1, "b": True, "nested": {"l": [1, 2.5, "y", False, None]}}
    item = to_attributes(doc)
    assert item["f"] == {"N": "0.1"} and item["b"] == {"BOOL": True}
    assert item["nested"]["M"]["l"]["L"][4] == {"NULL": True}
    assert from_attributes(item) == doc


def test_top_level_nones_are_left_out_and_sets_read_as_lists():
    assert to_attributes({"a": None, "b": 1}) == {"b": {"N": "1"}}
    assert from_attributes({"ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}}) == {
        "ss": ["a", "b"],
        "ns": [1, 2.5],
    }


def test_values_dynamodb_cannot_hold_are_refused():
    with pytest.raises(TypeError):
        to_attributes({"when": object()})
