"""A wire model's reader compiled for one row shape: the keys of a row, in their order.

Every row of an answer usually has the same keys in the same order, so the model's rule (each key to its
field's hook, or to ``extra``) can be decided once per shape and written out as straight code: no lookup
per key and no map of arguments per row. The compiled reader reads a row exactly as the rule does: a value
its hook refuses, and a key no field has, go to ``extra`` in the row's order; a field read twice (``ID``
and ``id``) keeps the last value it took; a field the row lacks keeps its default.

Like attrs and cattrs, the source is generated: it names only positions (``v3``, ``a1``) and the model's
own attribute names (identifiers, checked); keys, hooks and types are passed in, never written into it.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from typing import Any

import attrs

__all__ = ["MAX_KEYS", "ShapeReader", "Step", "compile_shape"]

# How a key is read: the field's attribute name, its type, its hook, and the value types the hook returns
# unchanged (stored as they come). ``None``: a key no field has (kept in ``extra``).
Step = tuple[str, Any, Callable[[Any, Any], Any], frozenset[type]] | None
ShapeReader = Callable[[dict[str, Any], tuple[str, ...]], Any]

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
    namespace: dict[str, Any] = {"factory": cls, "refused": refused}
    body: list[str] = []
    for i, step in enumerate(steps):
        if step is None:
            body.append(f"    extra[keys[{i}]] = v{i}")
            continue
        name, tp, hook, as_is = step
        if name not in slot:
            passable, default = _omitted(fields[name])
            passable = passable and name != "extra"
            if not passable:
                return None
            slot[name] = j = len(slot)
            namespace[f"d{j}"] = default
        j = slot[name]
        namespace[f"h{i}"], namespace[f"t{i}"] = hook, tp
        indent = "    "
        if as_is:
            namespace[f"s{i}"] = as_is
            body += [f"    if type(v{i}) in s{i}:", f"        a{j} = v{i}", "    else:"]
            indent = "        "
        body += [
            f"{indent}try:",
            f"{indent}    a{j} = h{i}(v{i}, t{i})",
            f"{indent}except refused:",
            f"{indent}    extra[keys[{i}]] = v{i}",
        ]
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
