"""The AI tools' models: ONNX files the operator sets by path (none ships in a package), loaded once.

A tool names its model by key (``u2net``, ``realesrgan``, ...); the key's setting is
``PICSHA_IMAGING__MODELS__<KEY>``. Without it the tool is listed as unavailable and a call is a 503
``tool_model_missing`` naming that setting.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from engine.errors import PicshaError

if TYPE_CHECKING:
    import onnxruntime

    from engine.imaging.operation import Operation


SETTING_PREFIX = "PICSHA_IMAGING__MODELS__"


def setting_name(key: str) -> str:
    return f"{SETTING_PREFIX}{key.upper()}"


def model_missing(key: str) -> PicshaError:
    return PicshaError(
        f"This tool needs the {key} model, which Picsha does not ship: set {setting_name(key)} to its ONNX file.",
        code="tool_model_missing", status=503, setting=setting_name(key), model=key,
    )


def missing_model(operation: Operation[Any], models: dict[str, str], settings: BaseModel | None = None) -> str | None:
    """The setting that enables ``operation`` when its model is not configured, else None.

    The models the settings choose are checked (``model=birefnet``, ``faceEnhance``; without ``settings``, the
    defaults'): settings declare them with ``required_models(configured) -> keys``, where a model left out
    may be whichever alternative is configured.
    """
    keys = [operation.model] if operation.model else []
    if settings is None:  # a listing: the tool with its default settings
        try:
            settings = operation.settings()
        except ValidationError:  # a tool with required settings: its declared model alone
            settings = None
    chooser = getattr(settings, "required_models", None)
    if chooser is not None:
        keys = list(chooser(models))
    return next((setting_name(key) for key in keys if key not in models), None)


def require_models(operation: Operation[Any], models: dict[str, str], settings: BaseModel | None = None) -> None:
    """Raise the 503 ``tool_model_missing`` naming the setting when ``missing_model`` finds one."""
    setting = missing_model(operation, models, settings)
    if setting is not None:
        raise model_missing(setting.removeprefix(SETTING_PREFIX).lower())


@dataclass(frozen=True)
class Port:
    """One model input or output as ONNX Runtime declares it (symbolic dimensions are None)."""

    name: str
    shape: tuple[int | None, ...]
    type: str

    @property
    def rank(self) -> int:
        return len(self.shape)


class Session:
    """A loaded model: its ports and ``run``. ONNX Runtime sessions may be run from several threads."""

    def __init__(self, key: str, inner: onnxruntime.InferenceSession):
        self.key = key
        self._inner = inner
        self.inputs = [_port(arg) for arg in inner.get_inputs()]
        self.outputs = [_port(arg) for arg in inner.get_outputs()]

    def run(self, feeds: dict[str, Any]) -> list[Any]:
        return list(self._inner.run(None, feeds))

    def invalid(self, expected: str) -> PicshaError:
        """The configured file is not the model the tool expects (503: the operator must fix the setting)."""
        got = ", ".join(f"{port.name}{list(port.shape)}" for port in self.inputs)
        return PicshaError(f"The {self.key} model at {setting_name(self.key)} does not look like {expected}: its "
                           f"inputs are {got}.", code="tool_model_invalid", status=503, setting=setting_name(self.key))


def _port(arg: Any) -> Port:
    shape = tuple(dim if isinstance(dim, int) and dim > 0 else None for dim in arg.shape)
    return Port(name=arg.name, shape=shape, type=arg.type)


_sessions: dict[tuple[str, int], Session] = {}
_lock = threading.Lock()


def session(key: str, models: dict[str, str], threads: int) -> Session:
    """The session for the model ``key``, loaded on first use and shared by every later call."""
    path = models.get(key)
    if path is None:
        raise model_missing(key)
    cache_key = (path, threads)
    loaded = _sessions.get(cache_key)
    if loaded is not None:
        return loaded
    with _lock:  # one load per file even when calls arrive together; a model can be hundreds of MB
        loaded = _sessions.get(cache_key)
        if loaded is None:
            loaded = _sessions[cache_key] = Session(key, _load(key, Path(path), threads))
    return loaded


def _load(key: str, path: Path, threads: int) -> onnxruntime.InferenceSession:
    import onnxruntime

    if not path.is_file():
        raise PicshaError(f"{setting_name(key)} is set, but no file is at that path.", code="tool_model_missing",
                          status=503, setting=setting_name(key), model=key)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own untyped errors for a damaged or foreign file
        raise PicshaError(f"The file at {setting_name(key)} is not an ONNX model ONNX Runtime can load.",
                          code="tool_model_invalid", status=503, setting=setting_name(key),
                          detail=str(error).splitlines()[0][:200]) from error
