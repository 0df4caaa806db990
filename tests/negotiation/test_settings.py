"""The ``[negotiation]`` section: defaults, and errors that name the file, the key and what was expected."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from connector.config import ConfigError
from connector.negotiation import settings_of


def _node(section: dict[str, Any]) -> Any:
    return SimpleNamespace(config=SimpleNamespace(path="/n/node.toml", model=SimpleNamespace(negotiation=section)))


def test_defaults() -> None:
    assert settings_of(_node({})) == {"approval": "auto", "conformance": False, "retry_base": 1.0, "max_attempts": 7}
    assert settings_of(_node({"approval": "manual"}))["approval"] == "manual"


def test_bad_values_listed_together() -> None:
    with pytest.raises(ConfigError) as e:
        settings_of(_node({"approval": "sometimes", "retry_base": 0, "colour": "blue"}))
    text = str(e.value)
    assert "/n/node.toml: [negotiation] approval: expected \"auto\" or \"manual\", got 'sometimes'" in text
    assert "retry_base" in text and "colour: unknown key" in text
