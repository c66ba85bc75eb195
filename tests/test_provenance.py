"""The table of tuned constants says what the code holds."""

from hsiwq.models.provenance import TUNED, current_values, markdown_table


def test_every_listed_constant_is_the_value_in_the_code():
    values = current_values()
    for c in TUNED:
        assert values[c.where] == c.value, f"{c.where}: table says {c.value!r}, code has {values[c.where]!r}"


def test_every_constant_says_where_it_came_from():
    for c in TUNED:
        assert c.origin in {"published", "convention", "simulator", "real"}
        assert c.how and c.real
    assert markdown_table().count("\n") == len(TUNED) + 1
