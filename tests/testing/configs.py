"""Small valid configs and packages that tests deploy, commit or send."""

from __future__ import annotations

from pathlib import Path

SERVICES_XML = b'<?xml version="1.0" encoding="utf-8" ?>\n<services version="1.0"/>\n'


def serve_yaml(*apps: tuple[str, str], price: int = 1, import_path: str = "mod:app") -> bytes:
    """A deploy config: one application per (name, route_prefix), one deployment each."""
    lines = ["applications:"]
    for name, prefix in apps:
        lines += [
            f"  - name: {name}",
            f"    route_prefix: {prefix}",
            f"    import_path: {import_path}",
            "    deployments:",
            "      - name: Model",
            "        num_replicas: 1",
            f"        user_config: {{price: {price}}}",
        ]
    return ("\n".join(lines) + "\n").encode()


def package_files(*apps: tuple[str, str], price: int = 1) -> dict[str, bytes]:
    """A package the vespa CLI will send: services.xml placeholder plus the Serve YAML."""
    return {"services.xml": SERVICES_XML, "serve.yaml": serve_yaml(*apps, price=price)}


def write_package(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def app_yaml(name: str, price: int = 1, route: str | None = None) -> str:
    return (
        f"name: {name}\n"
        f"route_prefix: {route or '/' + name}\n"
        "import_path: shop:app\n"
        "deployments:\n"
        "  - name: Stand\n"
        f"    user_config: {{price: {price}}}\n"
    )
