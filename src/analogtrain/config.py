"""Plain, typed, immutable configuration objects.

Every configuration in analogtrain is a frozen dataclass deriving from :class:`Config`. It is
validated when made (a :class:`~analogtrain.errors.ConfigError` names the parameter and its valid
range) and serialises one-to-one to and from plain dictionaries, JSON and YAML, so any run can be
written down and replayed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import types
import typing
from pathlib import Path
from typing import Any, ClassVar

from analogtrain.errors import ConfigError
from analogtrain.jsonio import plain

# ---------------------------------------------------------------------------------------------
# Validation helpers: each raises ConfigError naming the parameter and its valid range.


#: Largest finite float32 (every float of a config becomes a float32 tensor somewhere).
FLOAT32_MAX = 3.4028234663852886e38
#: Smallest positive float32 (subnormal): a non-zero value below it becomes 0 in float32.
FLOAT32_TINY = 1.401298464324817e-45
#: Relative float32 resolution: 2⁻²³ (the spacing of float32 numbers in [1, 2)).
FLOAT32_EPS = 2.0**-23


def is_number(value: Any) -> bool:
    """A real number (Python or numpy int/float), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, _np_bool()))


def _np_bool() -> type:
    try:
        import numpy

        return numpy.bool_
    except ImportError:  # pragma: no cover
        return bool


def check_float32(name: str, value: float) -> None:
    """ConfigError if a finite ``value`` is not representable in float32: |value| above
    :data:`FLOAT32_MAX` (it would become inf) or non-zero below :data:`FLOAT32_TINY` (it would
    become 0)."""
    value = float(value)
    if math.isfinite(value) and (abs(value) > FLOAT32_MAX or (value != 0 and abs(value) < FLOAT32_TINY)):
        raise ConfigError(
            f"{name} must be representable in float32 (0 or {FLOAT32_TINY:.4g} ≤ |{name}| ≤ {FLOAT32_MAX:.6g}), "
            f"got {value!r}"
        )


def check_finite(name: str, value: float) -> None:
    if not is_number(value) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    check_float32(name, value)


def check_range(
    name: str,
    value: float,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    allow_inf: bool = False,
) -> None:
    """Check ``low <= value <= high`` (bounds exclusive where asked); NaN is always rejected, and
    a finite value must be representable in float32 (:func:`check_float32`)."""
    if not is_number(value) or math.isnan(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if math.isinf(value) and not allow_inf:
        raise ConfigError(f"{name} must be finite, got {value!r}")
    check_float32(name, value)
    ok_low = value >= low if low_inclusive else value > low
    ok_high = value <= high if high_inclusive else value < high
    if not (ok_low and ok_high):
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        raise ConfigError(f"{name} must be in {left}{low}, {high}{right}, got {value!r}")


def check_positive(name: str, value: float) -> None:
    check_range(name, value, 0.0, math.inf, low_inclusive=False)


def check_non_negative(name: str, value: float) -> None:
    check_range(name, value, 0.0, math.inf)


def check_int(name: str, value: int, low: int = -(2**63), high: int = 2**63) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, _np_bool())):
        raise ConfigError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def check_choice(name: str, value: str, choices: typing.Iterable[str]) -> None:
    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {choices}, got {value!r}")


# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    """Base of all configuration dataclasses (subclasses are ``@dataclass(frozen=True)``).

    Subclasses implement :meth:`validate`; it runs after construction and on every
    :meth:`replace`. Nested configs and polymorphic fields (a field typed with a base class that
    defines ``from_dict_polymorphic``) are handled by :meth:`from_dict`.
    """

    #: Name used in error messages for the top of a config tree.
    config_name: ClassVar[str] = "config"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:  # pragma: no cover - overridden
        """Raise ConfigError for an invalid field."""

    def replace(self, **changes: Any):
        """A copy with some fields changed (validated)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(
                f"unknown parameter(s) {sorted(unknown)} for {type(self).__name__}; "
                f"valid: {[f.name for f in dataclasses.fields(self)]}"
            )
        return dataclasses.replace(self, **changes)

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        extra = self._dict_header()
        out.update(extra)
        for f in dataclasses.fields(self):
            out[f.name] = plain(getattr(self, f.name), nonfinite="string")
        return out

    def _dict_header(self) -> dict[str, Any]:
        """Keys written before the fields (e.g. a device's model name)."""
        return {}

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str = ""):
        """Build from a plain dict; unknown keys and wrong types raise ConfigError with the key path."""
        if not isinstance(data, dict):
            raise ConfigError(f"{path or cls.config_name}: expected a mapping, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        header = set(cls._header_keys())
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            key_path = f"{path}.{key}" if path else key
            if key in header:
                continue
            if key not in fields:
                raise ConfigError(f"{key_path}: unknown key; valid keys: {sorted(fields)}")
            kwargs[key] = _from_plain(hints[key], value, key_path)
        try:
            return cls(**kwargs)
        except ConfigError as error:
            raise ConfigError(f"{path + ': ' if path else ''}{error}") from None

    @classmethod
    def _header_keys(cls) -> tuple[str, ...]:
        return ()

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_file(cls, path: str | Path):
        """Load from a ``.json``, ``.yaml`` or ``.yml`` file (safe loaders only)."""
        return cls.from_dict(load_mapping(path))


def load_mapping(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML file into a dict, with a clear error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
        if "\x00" in text:
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "NUL byte")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {str(path)!r} is not a text (UTF-8 YAML or JSON) file") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text, object_pairs_hook=_unique_json_object)
        else:
            data = load_yaml(text)
    except Exception as error:  # malformed file
        raise ConfigError(f"config file {str(path)!r} could not be parsed: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping at the top level")
    return data


def _unique_json_object(pairs):
    data = {}
    for key, value in pairs:
        if key in data:
            raise ConfigError(f"duplicate key {key!r}")
        data[key] = value
    return data


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that refuses a duplicate key in a mapping (naming the key and its line)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                continue
            if duplicate:
                raise ConfigError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return yaml.load(text, Loader=UniqueKeyLoader)


def _from_plain(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _from_plain(arg, value, path)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{path}: must be one of {list(args)}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}")
        item = args[0] if args else Any
        items = [_from_plain(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__}")
        return dict(value)
    if isinstance(hint, type) and issubclass(hint, Config):
        if isinstance(value, hint):
            return value
        builder = getattr(hint, "from_dict_polymorphic", None)
        return builder(value, path) if builder is not None else hint.from_dict(value, path)
    if hint is float:
        if isinstance(value, str) and value in ("inf", "-inf"):
            return float(value)
        if not is_number(value):  # numpy scalars (np.float64, np.int64, ...) are numbers too
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if is_number(value) and isinstance(value, numbers.Integral):
            return int(value)
        if is_number(value) and math.isfinite(float(value)) and float(value).is_integer():
            return int(value)
        raise ConfigError(f"{path}: expected an integer, got {value!r}")
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    return value
