from oci_operator.handlers.common import status_patch


def test_changed_added_and_removed_fields() -> None:
    old = {"a": 1, "b": 2, "gone": "x"}
    new = {"a": 1, "b": 3, "c": 4}
    assert status_patch(old, new) == {"b": 3, "c": 4, "gone": None}


def test_no_change_no_patch() -> None:
    assert status_patch({"a": [1]}, {"a": [1]}) == {}


def test_a_field_dropped_from_a_nested_object_is_sent_as_null() -> None:
    # A merge patch merges objects key by key: without the null the API server would keep bootId.
    old = {"provisioning": {"state": "inspecting", "bootId": "abc", "step": "inspected"}}
    new = {"provisioning": {"state": "available"}}
    assert status_patch(old, new) == {"provisioning": {"state": "available", "bootId": None, "step": None}}


def test_lists_are_replaced_whole() -> None:
    assert status_patch({"c": [{"type": "Ready"}]}, {"c": []}) == {"c": []}
