"""The one cattrs converter: Bitrix wire quirks are handled here and nowhere else.

Quirks handled: numbers sent as strings (``"12"``), ``Y``/``N`` (and ``1``/``0``, ``true``) booleans, ISO 8601
datetimes with offsets (timezone-aware :class:`~datetime.datetime`), the offset-less forms some fields still
use (``"24.08.2023 13:19:39"``, ``"2024-08-29 10:30:11"``: read in UTC, or in the zone
:func:`assume_time_zone` names, so a datetime is never naive), empty values (``null``, ``""``, ``{}``)
meaning "no value", ``[]`` meaning an empty map (PHP's empty array), maps keyed ``0..n-1`` arriving as lists,
and localized names given as a string or a ``{"en": ..., "de": ...}`` map.

Wire models are attrs classes whose fields carry their wire name (see :func:`wire`); keys the model does not
know are kept in its ``extra`` dict, and a value that does not convert is kept there too instead of failing.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import enum
import functools
import operator
import re
import types
import typing
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
import cattrs

from ..protocol.envelope import short_text
from ..protocol.errors import BitrixError, MalformedResponseError
from ._shapes import EMPTY_TYPES, MAX_KEYS, Inner, ShapeReader, Step, compile_shape

__all__ = [
    "LocalizedText",
    "assume_time_zone",
    "converter",
    "structure",
    "unstructure",
    "wire",
    "wire_values",
]

T = TypeVar("T")
StructureHook = Callable[[Any, Any], Any]

LocalizedText = str | dict[str, str]
"""A name or description: one string, or a map of language code -> text."""

_WIRE = "bitrix_wire"
_YN = "bitrix_yn"


def wire(name: str, *, yn: bool = False) -> dict[str, Any]:
    """Field metadata: the field is sent as ``name``; ``yn`` writes booleans back as ``Y``/``N``."""
    return {_WIRE: name, _YN: yn}


converter = cattrs.Converter()


def _bool(value: Any, _: Any) -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        if value == "Y" or value == "N":  # the portal's usual spelling first
            return value == "Y"
        text = value.strip().lower()
        if text in ("y", "yes", "true", "1"):
            return True
        if text in ("n", "no", "false", "0", ""):
            return False
    raise ValueError(f"not a boolean: {value!r}")


def _int(value: Any, _: Any) -> int:
    if type(value) is int:  # the usual case first
        return value
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and (value.isdigit() or value.strip().lstrip("-").isdigit()):
        return int(value)
    raise ValueError(f"not an integer: {value!r}")


def _float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _str(value: Any, _: Any) -> str:
    if type(value) is str:  # the usual case first
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"not a string: {value!r}")
    return str(value)


_NAIVE_ZONE: contextvars.ContextVar[_dt.tzinfo] = contextvars.ContextVar("bitrix_naive_zone", default=_dt.UTC)
_PORTAL_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y")  # the portal's own (ru/de) site format
# Its usual spelling (two-digit fields, one space) is read without strptime; any other goes to strptime.
_SITE_FORM = re.compile(r"(\d\d)\.(\d\d)\.(\d{4})(?: (\d\d):(\d\d):(\d\d))?", re.ASCII)
_SITE_DATE = re.compile(r"(\d\d)\.(\d\d)\.(\d{4})", re.ASCII)


@contextlib.contextmanager
def assume_time_zone(zone: _dt.tzinfo) -> Iterator[None]:
    """Read offset-less dates (``"2024-08-29 10:30:11"``) in ``zone`` instead of UTC inside the block.

    The portal writes them in its own zone without saying which; a response's ``time.date_start`` carries it.
    """
    if not isinstance(zone, _dt.tzinfo):
        raise TypeError(f"a tzinfo is needed, got {type(zone).__name__}")
    token = _NAIVE_ZONE.set(zone)
    try:
        yield
    finally:
        _NAIVE_ZONE.reset(token)


def _aware(value: _dt.datetime) -> _dt.datetime:
    if value.tzinfo is not None:
        return value
    if type(value) is _dt.datetime:  # combine() is the same datetime as replace(), several times faster
        return _dt.datetime.combine(value, value.time(), _NAIVE_ZONE.get())
    return value.replace(tzinfo=_NAIVE_ZONE.get())


def _fromisoformat(text: str) -> _dt.datetime:
    """``datetime.fromisoformat``, hour 24 refused on every Python (3.14 reads it as the next midnight)."""
    if text[11:13] == "24" and text[10:11] in ("T", " "):
        raise ValueError(f"hour must be in 0..23: {text!r}")
    return _dt.datetime.fromisoformat(text)


def _site_form(text: str) -> _dt.datetime | None:
    """``dd.mm.YYYY[ HH:MM:SS]`` in ASCII digits, read exactly as ``strptime`` would (``None``: another form).

    The result is aware (see :func:`assume_time_zone`); an impossible date or time (``31.02.2026``) raises
    ``ValueError``, as ``strptime`` does.
    """
    if text[2:3] != "." or _SITE_FORM.fullmatch(text) is None:
        return None
    if text[11:13] == "24":  # fromisoformat reads T24:00:00 as the next midnight (3.14+); strptime refuses
        raise ValueError(f"hour must be in 0..23: {text!r}")
    # Its parts in ISO order ("YYYY-mm-dd[ HH:MM:SS]"), read by fromisoformat: the datetime the parts make,
    # or the same ValueError, several times faster than int() of each part.
    read = _dt.datetime.fromisoformat(f"{text[6:10]}-{text[3:5]}-{text[:2]}{text[10:]}")
    return _dt.datetime.combine(read, read.time(), _NAIVE_ZONE.get())


def _datetime(value: Any, _: Any) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return _aware(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            site = _site_form(text)  # the portal's own form first: no exception, no strptime
        except ValueError:
            raise ValueError(f"not a datetime: {value!r}") from None
        if site is not None:
            return site
        try:
            return _aware(_fromisoformat(text))
        except ValueError:
            for fmt in _PORTAL_FORMATS:
                with contextlib.suppress(ValueError):
                    return _aware(_dt.datetime.strptime(text, fmt))
    raise ValueError(f"not a datetime: {value!r}")


def _date(value: Any, _: Any) -> _dt.date:
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if "." in text[:3]:  # the portal's site format, "24.08.2023"
            found = _SITE_DATE.fullmatch(text)
            if found is not None:
                day, month, year = found.groups()
                return _dt.date(int(year), int(month), int(day))
            return _dt.datetime.strptime(text, _PORTAL_FORMATS[1]).date()
        return _fromisoformat(text).date() if "T" in text else _dt.date.fromisoformat(text)
    raise ValueError(f"not a date: {value!r}")


def _localized(value: Any, _: Any) -> LocalizedText:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and not value:
        return {}
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    raise ValueError(f"not a localized text: {value!r}")


# Enum hooks (below) are registered for IntEnum/StrEnum too, so members never fall to the int/str hooks.
converter.register_structure_hook(bool, _bool)
converter.register_structure_hook(int, _int)
converter.register_structure_hook(float, _float)
converter.register_structure_hook(str, _str)
converter.register_structure_hook(_dt.datetime, _datetime)
converter.register_structure_hook(_dt.date, _date)
converter.register_structure_hook_func(lambda t: t == LocalizedText, _localized)
converter.register_unstructure_hook(_dt.datetime, lambda v: v.isoformat())
converter.register_unstructure_hook(_dt.date, lambda v: v.isoformat())


def _enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    if issubclass(cls, int) and not isinstance(value, bool):
        return cls(_int(value, int))
    return cls(value)


for _base in (enum.Enum, enum.IntEnum, enum.IntFlag, enum.StrEnum):
    converter.register_structure_hook(_base, _enum)


# Hooks that return a value of their own type unchanged (``_str("a")`` is ``"a"``).
_PLAIN_HOOKS: dict[Any, StructureHook] = {str: _str, int: _int, bool: _bool}
# Hook -> the value types it returns unchanged: a wire model stores those without calling it.
_AS_IS: weakref.WeakKeyDictionary[StructureHook, frozenset[type]] = weakref.WeakKeyDictionary(
    {hook: frozenset({tp}) for tp, hook in _PLAIN_HOOKS.items()}
)


# An optional's hook -> its inner type and whether it reads every "no value" as ``None`` (see _shapes.Inner).
_OPTIONAL: weakref.WeakKeyDictionary[StructureHook, tuple[Any, bool]] = weakref.WeakKeyDictionary()


def _inner(hook: StructureHook) -> Inner | None:
    """What an optional's ``hook`` reads a real value with (``None``: not an optional of ours, or no hook).

    The inner hook is the one the optional hook looks up at its first real value.
    """
    try:
        found = _OPTIONAL.get(hook)
    except TypeError:  # a callable without __weakref__ or without a hash: not ours
        return None
    if found is None:
        return None
    target, none = found
    try:
        return target, converter.get_structure_hook(target), none
    except Exception:  # no hook for it (cattrs' StructureHandlerNotFoundError, say): the optional hook reads
        return None  # empties as None and looks the inner hook up only at a real value, as before


def _as_is(hook: StructureHook) -> frozenset[type]:
    """The value types ``hook`` returns unchanged (none for a hook the weak table cannot hold: a user's)."""
    try:
        return _AS_IS.get(hook, frozenset())
    except TypeError:  # a callable without __weakref__ or without a hash
        return frozenset()


def _is_optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (types.UnionType, typing.Union) and type(None) in typing.get_args(tp)


def _optional(tp: Any) -> StructureHook:
    """The hook of ``X | None``: ``null``, ``""``, ``[]``, ``{}`` mean "no value", unless ``X`` holds them.

    A hook factory: cattrs builds it once per type and again after any hook is registered.
    """
    inner = [a for a in typing.get_args(tp) if a is not type(None)]
    text = str in inner  # an empty text is a value, not an absence
    containers = [a for a in inner if typing.get_origin(a) in (dict, list)]
    container = containers[0] if containers else None
    target = inner[0] if len(inner) == 1 else functools.reduce(operator.or_, inner)
    hook: StructureHook | None = None  # the hook of ``target``, looked up at its first value
    as_is: set[type] = {type(None)}
    if _PLAIN_HOOKS.get(target) is not None and converter.get_structure_hook(target) is _PLAIN_HOOKS[target]:
        as_is.add(target)  # a str is its own text, an int its own number, True/False their own boolean

    def structure_optional(value: Any, _: Any) -> Any:
        nonlocal hook
        if value is None or (type(value) in EMPTY_TYPES and not value):
            if text and value == "":
                return ""
            if container is not None and value in ([], {}):
                return converter.structure(value, container)
            return None
        if hook is None:
            hook = converter.get_structure_hook(target)
        return hook(value, target)

    _AS_IS[structure_optional] = frozenset(as_is)
    # "", [] and {} all read as None unless a text or a container keeps one of them.
    _OPTIONAL[structure_optional] = target, container is None and (not text or str in as_is)
    return structure_optional


converter.register_structure_hook_factory(_is_optional, _optional)


def _is_dict(tp: Any) -> bool:
    return typing.get_origin(tp) is dict


def _dict(tp: Any) -> StructureHook:
    """The hook of a map (a hook factory); PHP sends an empty one as ``[]``, a ``0..n-1``-keyed one as a list.

    The key and value hooks are looked up at the first entry.
    """
    args = typing.get_args(tp) or (Any, Any)
    found: list[StructureHook] = []

    def structure_dict(value: Any, _: Any) -> dict[Any, Any]:
        if isinstance(value, list):
            value = {str(i): v for i, v in enumerate(value)}
        if not isinstance(value, Mapping):
            raise ValueError(f"not a map: {value!r}")
        key_t, val_t = args[:2]
        if not value:
            return {}
        if not found:
            found[:] = converter.get_structure_hook(key_t), converter.get_structure_hook(val_t)
        key_hook, val_hook = found
        return {key_hook(k, key_t): val_hook(v, val_t) for k, v in value.items()}

    return structure_dict


def _is_list(tp: Any) -> bool:
    return typing.get_origin(tp) is list


def _list(tp: Any) -> StructureHook:
    """The hook of a list (a hook factory); a PHP array with gaps in its keys arrives as a map.

    The item hook is looked up at the first item.
    """
    args = typing.get_args(tp) or (Any,)
    found: list[StructureHook] = []

    def structure_list(value: Any, _: Any) -> list[Any]:
        if type(value) is not list:
            if isinstance(value, Mapping):
                value = list(value.values())
            elif not isinstance(value, tuple):
                raise ValueError(f"not a list: {value!r}")
        (item_t,) = args
        if not value:
            return []
        if not found:
            found.append(converter.get_structure_hook(item_t))
        hook = found[0]
        return [hook(v, item_t) for v in value]

    return structure_list


converter.register_structure_hook_factory(_is_dict, _dict)
converter.register_structure_hook_factory(_is_list, _list)


def _is_wire_model(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls) and any(_WIRE in f.metadata for f in attrs.fields(cls))


_FIELDS_CACHE: dict[type[Any], dict[str, attrs.Attribute[Any]]] = {}


def _wire_fields(cls: type[Any]) -> dict[str, attrs.Attribute[Any]]:
    """Wire name -> attrs field, with the annotations resolved (cached per class)."""
    cached = _FIELDS_CACHE.get(cls)
    if cached is None:
        attrs.resolve_types(cls)
        cached = _FIELDS_CACHE[cls] = {f.metadata[_WIRE]: f for f in attrs.fields(cls) if _WIRE in f.metadata}
    return cached


# What a value that does not fit its field may raise while converting (it is then kept in ``extra``).
_UNCONVERTIBLE = (
    ValueError,
    TypeError,
    KeyError,
    OverflowError,
    RecursionError,
    BitrixError,
    cattrs.BaseValidationError,
)


# How a wire key is read: attribute name, type, hook, and the value types the hook returns unchanged.
_Step = tuple[str, Any, StructureHook | None, frozenset[type]]
_NOT_A_FIELD: _Step = ("", None, None, frozenset())  # a key the model does not know (kept in ``extra``)
_STEPS_REMEMBERED = 512  # wire keys one model remembers the step of (a few dozen in practice)
_SHAPES_REMEMBERED = 32  # row shapes (keys in order) one model compiles a reader for
_UNSEEN: Any = object()  # a shape not met yet


def _structure_model(cls: type[T]) -> StructureHook:
    """The hook of a wire model (a hook factory: built once per class, again after any hook is registered).

    Each wire key's step (field name, type, hook) is found at its first value and remembered; keys the
    model does not know, and values that do not convert, go to ``extra``. A dict row is read by the reader
    compiled for its shape (its keys in order, see :mod:`._shapes`), which follows the same steps; other
    mappings, and rows past the shapes a model remembers, are read key by key.
    """
    by_wire = _wire_fields(cls)
    upper = {k.upper(): f for k, f in by_wire.items()}  # keys in another case still find their field
    steps: dict[str, _Step] = {}  # wire key as sent -> its step
    shapes: dict[tuple[str, ...], ShapeReader | None] = {}  # the keys of a row, in order -> its reader
    factory: Any = cls

    def step_of(key: Any) -> _Step | None:
        """How ``key`` is read (remembered); ``None``: its field's hook cannot be had (the value is kept)."""
        field = by_wire.get(key) or upper.get(str(key).upper())
        if field is None:
            step = _NOT_A_FIELD
        else:
            tp = field.type or Any
            try:
                hook = converter.get_structure_hook(tp)
            except _UNCONVERTIBLE:
                return None  # not remembered: looked up again at the next value
            step = (field.name, tp, hook, _as_is(hook))
        if type(key) is str and len(steps) < _STEPS_REMEMBERED:
            steps[key] = step
        return step

    def reader_of(keys: tuple[str, ...]) -> ShapeReader | None:
        """The compiled reader of rows with ``keys`` (remembered); ``None``: read them key by key."""
        if len(shapes) >= _SHAPES_REMEMBERED or len(keys) > MAX_KEYS:
            return None  # another shape past the bound, or a huge row: key by key, its keys not kept
        found: list[Step] = []
        for key in keys:
            step = steps.get(key) or step_of(key)
            if step is None or type(key) is not str:
                return None  # not remembered: the hook may be had at the next row
            name, tp, hook, as_is = step
            found.append(None if hook is None else (name, tp, hook, as_is, _inner(hook)))
        reader = shapes[keys] = compile_shape(cls, keys, found, _UNCONVERTIBLE)
        return reader

    def structure_model(value: Any, _: Any) -> T:
        if type(value) is dict:  # what JSON gives: read by the reader of its shape, once it has one
            keys = tuple(value)
            reader = shapes.get(keys, _UNSEEN)
            if reader is _UNSEEN:
                reader = reader_of(keys)
            if reader is not None:
                read: T = reader(value, keys)
                return read
        else:
            if isinstance(value, list) and not value:
                value = {}
            if not isinstance(value, Mapping):
                raise ValueError(f"expected an object for {cls.__name__}, got {value!r}")
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, raw in value.items():
            name, tp, hook, as_is = steps.get(key) or step_of(key) or _NOT_A_FIELD
            if type(raw) in as_is:  # what its hook would return unchanged: no call
                kwargs[name] = raw
            elif hook is None:
                extra[key] = raw
            else:
                try:
                    kwargs[name] = hook(raw, tp)
                except _UNCONVERTIBLE:
                    extra[key] = raw  # kept reachable, never fatal
        kwargs["extra"] = extra  # not a wire field: no key sets it
        result: T = factory(**kwargs)
        return result

    return structure_model


def _unstructure_model(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in _wire_fields(type(obj)).items():
        value = getattr(obj, field.name)
        if value is None:
            continue
        if field.metadata.get(_YN) and isinstance(value, bool):
            out[name] = "Y" if value else "N"
        else:
            out[name] = converter.unstructure(value)
    out.update(getattr(obj, "extra", None) or {})
    return out


converter.register_structure_hook_factory(_is_wire_model, _structure_model)
converter.register_unstructure_hook_func(_is_wire_model, _unstructure_model)


def structure(value: Any, cls: type[T]) -> T:
    """Read a wire value (a row of a list, a ``result``) into ``cls``.

    A value that cannot be read (a row that is not an object, say) is a :class:`MalformedResponseError`.
    """
    try:
        return converter.structure(value, cls)
    except BitrixError:
        raise
    except _UNCONVERTIBLE as exc:
        name = getattr(cls, "__name__", str(cls))
        raise MalformedResponseError(
            f"the answer does not fit {name}: {short_text(value, 80)!r} ({type(exc).__name__})"
        ) from None


def unstructure(obj: Any) -> Any:
    """The wire form of a model (wire key names, ISO datetimes, enum values, extras merged back)."""
    return converter.unstructure(obj)


def _register_documents() -> None:
    from .documents import DocumentId, DocumentType

    converter.register_structure_hook(DocumentType, lambda v, _: DocumentType.parse(v))
    converter.register_structure_hook(DocumentId, lambda v, _: DocumentId.parse(v))
    converter.register_unstructure_hook(DocumentType, DocumentType.to_wire)
    converter.register_unstructure_hook(DocumentId, DocumentId.to_wire)


_register_documents()


def _plan(cls: type[Any], names: Iterable[str]) -> dict[str, tuple[Any, StructureHook]]:
    """Wire name -> (type, the hook ``structure()`` reads it with) of selected fields with plain defaults."""
    by_wire = _wire_fields(cls)
    plan: dict[str, tuple[Any, StructureHook]] = {}
    for name in names:
        field = by_wire.get(name)
        if field is None or isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            continue
        tp = field.type or Any
        plan[name] = (tp, converter.get_structure_hook(tp))
    return plan


def wire_values(cls: type[Any], names: Iterable[str]) -> Callable[[Any], dict[str, Any]]:
    """A reader of the ``names`` fields of a row: wire name -> the value ``structure(row, cls)`` would hold.

    No model is built for a plain dict whose keys are all among ``names``; a field it lacks (or whose value
    does not convert) has the model's default. Any other row is structured in full and its fields read.
    """
    by_wire = _wire_fields(cls)
    wanted = {name: by_wire[name] for name in names if name in by_wire}
    plan = _plan(cls, wanted)
    blank = {name: field.default for name, field in wanted.items()}

    def read(row: Any) -> dict[str, Any]:
        if type(row) is not dict or not row.keys() <= plan.keys() or len(plan) < len(wanted):
            model = structure(row, cls)
            return {name: getattr(model, field.name) for name, field in wanted.items()}
        values = blank.copy()
        for key, raw in row.items():
            tp, hook = plan[key]
            try:
                value = hook(raw, tp)
            except _UNCONVERTIBLE:
                continue  # structure() keeps it in ``extra``: the field keeps its default
            values[key] = value
        return values

    return read
