"""Splitting an area along a line: two parts that together are the area, or a clear refusal."""

from __future__ import annotations

import pytest
from shapely.geometry import shape

from service.features.splitting import SplitError, split_in_two

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 2], [0, 2], [0, 0]]]}


def test_a_line_across_gives_two_parts_larger_first_that_make_up_the_area() -> None:
    first, second = split_in_two(SQUARE, {"type": "LineString", "coordinates": [[1, -1], [1, 3]]})
    assert first["type"] == second["type"] == "MultiPolygon"
    assert shape(first).area == pytest.approx(6)
    assert shape(second).area == pytest.approx(2)
    assert shape(first).union(shape(second)).equals(shape(SQUARE))


@pytest.mark.parametrize(
    "line",
    [
        [[1, -1], [1, 1]],  # ends inside
        [[5, -1], [5, 3]],  # misses
        [[1, -1], [1, 3], [3, 3], [3, -1]],  # three parts
    ],
)
def test_a_line_that_does_not_cut_in_two_is_refused(line: list[list[float]]) -> None:
    with pytest.raises(SplitError, match="exactly once"):
        split_in_two(SQUARE, {"type": "LineString", "coordinates": line})
