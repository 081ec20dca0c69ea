from oci_operator.handlers.common import status_patch


def test_changed_added_and_removed_fields() -> None:
    old = {"a": 1, "b": 2, "gone": "x"}
    new = {"a": 1, "b": 3, "c": 4}
    assert status_patch(old, new) == {"b": 3, "c": 4, "gone": None}


def test_no_change_no_patch() -> None:
    assert status_patch({"a": [1]}, {"a": [1]}) == {}
