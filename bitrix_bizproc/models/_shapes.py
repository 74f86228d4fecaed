"""A wire model's reader compiled for one row shape: the keys of a row, in their order.

Every row of an answer usually has the same keys in the same order, so the model's rule (each key to its
field's hook, or to ``extra``) can be decided once per shape and written out as straight code: no lookup
per key and no map of arguments per row. The compiled reader reads a row exactly as the rule does: a value
its hook refuses, and a key no field has, go to ``extra`` in the row's order; a field read twice (``ID``
and ``id``) keeps the last value it took; a field the row lacks keeps its default.

An optional field's step may name the hook of its inner type: the reader then tests for "no value" itself
(``null``, ``""``, ``[]``, ``{}``, as the optional hook does) and calls the inner hook only for a real value,
one call a value instead of two.

Like attrs and cattrs, the source is generated: it names only positions (``v3``, ``a1``) and the model's
own attribute names (identifiers, checked); keys, hooks and types are passed in, never written into it.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from typing import Any

import attrs

__all__ = ["EMPTY_TYPES", "MAX_KEYS", "Inner", "ShapeReader", "Step", "compile_shape"]

Hook = Callable[[Any, Any], Any]
# An optional field's inner type, its hook, and whether the optional reads every "no value" as ``None``
# (otherwise the optional's own hook reads it: ``str | int | None`` keeps ``""``, ``list[int] | None``
# makes ``[]``).
Inner = tuple[Any, Hook, bool]
# How a key is read: the field's attribute name, its type, its hook, the value types the hook returns
# unchanged (stored as they come), and for an optional field its inner reading (or ``None``: the hook
# reads every value). ``None``: a key no field has (kept in ``extra``).
Step = tuple[str, Any, Hook, frozenset[type], Inner | None] | None
ShapeReader = Callable[[dict[str, Any], tuple[str, ...]], Any]

EMPTY_TYPES = (str, list, dict)  # "", [] and {} (and null) mean "no value" for an optional field
MAX_KEYS = 256  # longer rows are read key by key (the compiled code would be large for one row)


def _omitted(field: attrs.Attribute[Any]) -> tuple[bool, Any]:
    """Whether a missing value can be passed explicitly, and what passes as "not given" to ``__init__``."""
    if not field.init or field.alias != field.name or not field.name.isidentifier():
        return False, None
    if keyword.iskeyword(field.name):
        return False, None
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        return True, attrs.NOTHING  # attrs calls the factory for NOTHING, as when the argument is left out
    if field.default is attrs.NOTHING:  # a field the row must hold: left to the key-by-key path
        return False, None
    return True, field.default  # the very object attrs' __init__ has as the parameter's default


def compile_shape(
    cls: type[Any], keys: tuple[str, ...], steps: Sequence[Step], refused: tuple[type[BaseException], ...]
) -> ShapeReader | None:
    """The reader of rows with exactly ``keys`` (``steps[i]`` says how ``keys[i]`` is read), or ``None``.

    ``None`` when the shape cannot be compiled (a field without a default, an ``__init__`` argument named
    otherwise than its attribute, too many keys): such rows are read key by key.
    """
    if len(keys) > MAX_KEYS or "extra" not in attrs.fields_dict(cls):
        return None
    fields = attrs.fields_dict(cls)
    slot: dict[str, int] = {}  # attribute name -> the local that holds its value
    namespace: dict[str, Any] = {"factory": cls, "refused": refused, "empty": EMPTY_TYPES}
    body: list[str] = []
    for i, step in enumerate(steps):
        if step is None:
            body.append(f"    extra[keys[{i}]] = v{i}")
            continue
        name, tp, hook, as_is, inner = step
        if name not in slot:
            passable, default = _omitted(fields[name])
            passable = passable and name != "extra"
            if not passable:
                return None
            slot[name] = j = len(slot)
            namespace[f"d{j}"] = default
        j = slot[name]
        namespace[f"s{i}"] = as_is
        body += [f"    if type(v{i}) in s{i}:", f"        a{j} = v{i}"]
        if inner is not None:  # the optional hook's own "no value" test, then its inner hook
            namespace[f"o{i}"], namespace[f"p{i}"] = hook, tp
            tp, hook, none = inner
            body.append(f"    elif v{i} is None or (type(v{i}) in empty and not v{i}):")
            body += [f"        a{j} = None"] if none else _tried(f"a{j} = o{i}(v{i}, p{i})", i)
        namespace[f"h{i}"], namespace[f"t{i}"] = hook, tp
        body += ["    else:", *_tried(f"a{j} = h{i}(v{i}, t{i})", i)]
    values = "".join(f"v{i}, " for i in range(len(keys)))
    head = ["def read(row, keys):", "    extra = {}"]
    if keys:
        head.append(f"    {values}= row.values()")
    head += [f"    a{j} = d{j}" for j in slot.values()]
    arguments = "".join(f"{name}=a{j}, " for name, j in slot.items())
    source = "\n".join([*head, *body, f"    return factory({arguments}extra=extra)", ""])
    exec(compile(source, f"<{cls.__name__} row reader>", "exec"), namespace)
    reader: ShapeReader = namespace["read"]
    return reader


def _tried(line: str, i: int) -> list[str]:
    """``line`` (under an ``if``/``else``) with a refused value of key ``i`` kept in ``extra``."""
    kept = f"            extra[keys[{i}]] = v{i}"
    return ["        try:", f"            {line}", "        except refused:", kept]
