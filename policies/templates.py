"""Policy templates: the tourism offers of ``config/policies/*.json``, referenced by name from a node's config.

A template file is itself a valid DSP dataset Offer whose values may be placeholders ``"{{name}}"``; its
``templateParameters`` object declares each parameter (``default`` when optional, ``description``). A placeholder
that is a whole JSON string takes the parameter's value as is (a list of roles, an integer), one inside a longer
string is replaced by its text. :func:`render` is pure; :func:`load` reads the file (the only file access in the
package, at configuration time, never on a request path).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from policies.model import Policy
from policies.parse import parse_policy

__all__ = ["TemplateError", "DEFAULT_DIRECTORY", "names", "read", "parameters", "render", "load", "load_policy"]

#: where the templates live in a checkout (a node may point at its own folder)
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[1] / "config" / "policies"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class TemplateError(ValueError):
    """A template that cannot be rendered; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def names(directory: Path | None = None) -> list[str]:
    """Names of the templates available (file stems)."""
    return sorted(p.stem for p in (directory or DEFAULT_DIRECTORY).glob("*.json"))


def read(name: str, directory: Path | None = None) -> dict[str, Any]:
    """The raw template document ``name``."""
    if not _NAME.match(name):
        raise TemplateError([f"invalid template name {name!r} (lower-case letters, digits and dashes)"])
    path = (directory or DEFAULT_DIRECTORY) / f"{name}.json"
    if not path.is_file():
        raise TemplateError([f"unknown policy template {name!r}; known: {', '.join(names(directory)) or 'none'}"])
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise TemplateError([f"{path}: not valid JSON: {e}"]) from None


def parameters(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The declared parameters of a template document."""
    declared = template.get("templateParameters", {})
    return declared if isinstance(declared, dict) else {}


def _used(node: Any, found: set[str]) -> None:
    if isinstance(node, str):
        found.update(_PLACEHOLDER.findall(node))
    elif isinstance(node, list):
        for x in node:
            _used(x, found)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k != "templateParameters":
                _used(v, found)


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, str):
        whole = _PLACEHOLDER.fullmatch(node)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node)
    if isinstance(node, list):
        return [_fill(x, values) for x in node]
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items() if k != "templateParameters"}
    return node


def render(template: dict[str, Any], **params: Any) -> dict[str, Any]:
    """The Offer (DSP compacted form) for ``template`` with ``params``; every missing, unknown or undeclared
    parameter is reported at once."""
    declared = parameters(template)
    used: set[str] = set()
    _used(template, used)
    problems = [f"unknown parameter {k!r} (declared: {', '.join(sorted(declared)) or 'none'})"
                for k in sorted(params) if k not in declared]
    problems += [f"placeholder {{{{{k}}}}} is not declared in templateParameters" for k in sorted(used - set(declared))]
    values: dict[str, Any] = {}
    for k, spec in declared.items():
        if k in params:
            values[k] = params[k]
        elif isinstance(spec, dict) and "default" in spec:
            values[k] = spec["default"]
        else:
            problems.append(f"missing required parameter {k!r}"
                            + (f" (e.g. {spec['example']!r})" if isinstance(spec, dict) and "example" in spec else ""))
    if problems:
        raise TemplateError(problems)
    return _fill(template, values)


def load(name: str, *, directory: Path | None = None, **params: Any) -> dict[str, Any]:
    """Render template ``name`` from ``directory`` (default ``config/policies``) into an Offer document."""
    return render(read(name, directory), **params)


def load_policy(name: str, *, directory: Path | None = None, **params: Any) -> Policy:
    """:func:`load`, parsed into a :class:`~policies.model.Policy`."""
    return parse_policy(load(name, directory=directory, **params))
