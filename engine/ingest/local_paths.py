"""Which local files a ``path`` upload may read: only inside allowed folders, never a hidden one.

``picsha mcp`` runs with the user's rights, and a model chooses the path: without a fence a prompt could
make it store ``/etc/passwd`` or ``~/.ssh/id_ed25519`` and hand out a link to it. The fence is the client's
MCP roots (the folders the user opened in it), the operator's ``ingest.path_roots``, or by default the
home folder; symlinks are resolved before the check, so a link inside a root cannot point out of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.errors import Forbidden


def allowed_roots(client_roots: Sequence[Path] | None, configured: Sequence[Path]) -> list[Path]:
    """The client's roots and the configured folders; the home folder when neither names any."""
    roots = [*(client_roots or []), *configured]
    return [root.expanduser().resolve() for root in (roots or [Path.home()])]


def readable_path(path: Path, roots: Sequence[Path]) -> Path:
    """The real path behind ``path`` when it lies inside one of ``roots`` with no hidden part below it
    (whether a file is there is the caller's check)."""
    real = path.expanduser().resolve()
    for root in roots:
        if real.is_relative_to(root):
            hidden = [part for part in real.relative_to(root).parts if part.startswith(".")]
            if hidden:
                raise Forbidden(
                    f"{str(path)!r} is inside a hidden folder or is a hidden file ({hidden[0]!r}); those are "
                    "never read. Move the file or upload it as base64.", code="asset_path_hidden",
                )
            return real
    folders = ", ".join(str(root) for root in roots)
    raise Forbidden(
        f"{str(path)!r} is outside the folders Picsha may read: {folders}. Open its folder as a root in your "
        "MCP client, add it to PICSHA_INGEST__PATH_ROOTS, or upload the file as base64.",
        code="asset_path_outside_roots", allowed=[str(root) for root in roots],
    )
