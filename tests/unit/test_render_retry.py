"""A render that timed out is tried again on the next call (the machine may just have been loaded); a
template's own error is remembered."""

from __future__ import annotations

import pytest

from oci_operator.render.limited import Limits, Renderer, TemplateFailed


def test_a_timeout_is_not_cached_but_a_template_error_is() -> None:
    renderer = Renderer(Limits(seconds=0.000001))
    try:
        with pytest.raises(TemplateFailed) as slow:
            renderer.render(["{{ host }}"], {"host": "a"})
        assert slow.value.transient
        assert "longer than" in str(slow.value)
        assert not renderer._cache  # the next call renders again
    finally:
        renderer.close()
    renderer = Renderer(Limits(seconds=30))
    try:
        with pytest.raises(TemplateFailed) as broken:
            renderer.render(["{{ missing }}"], {})
        assert not broken.value.transient
        assert len(renderer._cache) == 1
    finally:
        renderer.close()
