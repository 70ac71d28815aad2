"""``/openapi.yaml``: the API contract, ``schemas/openapi.yaml``, served self-contained.

The document on disk references the config schemas next to it by file name
(``deploy-config.schema.json``); a client reading it over HTTP cannot follow those,
so we serve a bundled copy: every referenced schema file is inlined under
``components/schemas`` (its ``$id`` dropped) and each ``$ref`` rewritten to point there.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response

from gitsync.config.schema import schemas_dir

DOCUMENT = "openapi.yaml"
MEDIA_TYPE = "application/yaml"


def _component_name(file_name: str) -> str:
    return "cfg-" + file_name.removesuffix(".json").removesuffix(".schema")


class _Bundler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.components: dict[str, Any] = {}

    def file(self, file_name: str) -> str:
        """Inline ``file_name`` (once) and return its component pointer."""
        name = _component_name(file_name)
        pointer = f"#/components/schemas/{name}"
        if name not in self.components:
            self.components[name] = {}  # reserve first: schema files may refer to each other
            data = json.loads((self.directory / file_name).read_text(encoding="utf-8"))
            data.pop("$id", None)
            data.pop("$schema", None)
            self.components[name] = self.rewrite(data, pointer)
        return pointer

    def rewrite(self, node: Any, here: str) -> Any:
        """Rewrite refs in ``node``; ``here`` is the pointer of the file it came from."""
        if isinstance(node, dict):
            out = {key: self.rewrite(value, here) for key, value in node.items()}
            ref = node.get("$ref")
            if isinstance(ref, str):
                out["$ref"] = self.ref(ref, here)
            return out
        if isinstance(node, list):
            return [self.rewrite(item, here) for item in node]
        return node

    def ref(self, ref: str, here: str) -> str:
        target, _, fragment = ref.partition("#")
        if not target:
            # A ref inside the same schema file; in the OpenAPI document itself the
            # pointer is already absolute.
            return here + fragment if here and fragment.startswith("/") else ref
        return self.file(target) + fragment


def bundle(directory: Path) -> dict[str, Any]:
    """``openapi.yaml`` with every external schema inlined."""
    document = yaml.safe_load((directory / DOCUMENT).read_text(encoding="utf-8"))
    bundler = _Bundler(directory)
    out: dict[str, Any] = bundler.rewrite(document, "")
    schemas = out.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(bundler.components)
    return out


class _NoAliasDumper(yaml.SafeDumper):
    """Shared nodes written out in full: no ``&id001`` anchors in the served document."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@functools.cache
def bundled_text() -> bytes:
    text: str = yaml.dump(
        bundle(schemas_dir()), Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True
    )
    return text.encode("utf-8")


async def endpoint(request: Request) -> Response:
    return Response(bundled_text(), media_type=MEDIA_TYPE)
