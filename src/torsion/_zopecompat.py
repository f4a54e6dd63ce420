"""What ported code needs of zope.interface's API, for ``typing.Protocol`` interfaces.

Theory of operation.  torsion's interfaces stay plain ``typing.Protocol``
classes: mypy checks them structurally and the ``runtime_checkable`` ones
work with ``isinstance``.  Twisted code also asks zope's questions of them
(``IFoo.providedBy(x)``, ``IFoo.implementedBy(cls)``, ``IFoo(x, None)``,
``verifyObject(IFoo, x)``), so once ``torsion.interfaces`` has defined them,
``declareInterfaces`` re-types each one to ``InterfaceClass``, a subclass
of ``Protocol``'s own metaclass that adds those methods and nothing else
(assigning ``__class__`` of a class to a metaclass of the same layout).
The class statements stay as they are, typing sees ordinary protocols, and
classes that inherit from an interface get the metaclass too; its
``__call__`` adapts only when called on an interface itself and otherwise
builds the instance as ``type`` does.

What "provides" means: an object provides an interface

* when it is declared: its class (or a base) was decorated with
  ``implementer(IFoo)``, or inherits from ``IFoo``; or the object itself was
  given it with ``provider``/``directlyProvides``/``alsoProvides``.  A
  declaration of ``IPushProducer`` is also one of ``IProducer`` (its base);
* or, for an object that is not a class, when it has every member of the
  interface: each method (callable) and each attribute.  That is what the
  interfaces mean for mypy, and torsion's own classes declare nothing.
  An interface without members (a marker, such as ``IAddress``) is provided
  only by declaration; a class provides an interface only by declaration,
  so ``IProtocol.providedBy(Protocol)`` is false as in zope.

``implementer`` stores the interfaces in one class attribute at class
creation, so it costs nothing afterwards.  ``verifyObject`` and
``verifyClass`` check members and signatures (as zope's do: the
implementation must accept the interface's positional arguments, require
no more, and take ``*args``/``**kw`` where the interface does) and raise
``BrokenImplementation`` naming every problem; they also read interfaces
written with zope's ``Interface`` (ported code's own, which ``implementer``
records too) through zope's public description methods, without importing
zope.  There is no adapter registry: adapting returns the object itself or
the default.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, Protocol, TypeVar, _ProtocolMeta

__all__ = [
    "BrokenImplementation",
    "InterfaceClass",
    "alsoProvides",
    "declareInterfaces",
    "directlyProvides",
    "implementer",
    "provider",
    "verifyClass",
    "verifyObject",
]

_T = TypeVar("_T")

_IMPLEMENTS = "__torsion_implements__"  # on a class: what its instances provide
_PROVIDES = "__torsion_provides__"  # in an object's own __dict__: what it provides itself
_NOT_MEMBERS = frozenset(
    {
        "__module__",
        "__qualname__",
        "__doc__",
        "__dict__",
        "__weakref__",
        "__annotations__",
        "__parameters__",
        "__orig_bases__",
        "__abstractmethods__",
        "__init__",
        "__subclasshook__",
        "__protocol_attrs__",
        "__non_callable_proto_members__",
        "__slots__",
        "__class_getitem__",
        "__init_subclass__",
        "__static_attributes__",
        "__firstlineno__",
        "__type_params__",
        "_abc_impl",
        "_is_protocol",
        "_is_runtime_protocol",
        _IMPLEMENTS,
        _PROVIDES,
    }
)
_MISSING = object()
_MEMBERS: weakref.WeakKeyDictionary[type, dict[str, Callable[..., Any] | None]] = (
    weakref.WeakKeyDictionary()
)


class BrokenImplementation(Exception):
    """An object or class lacks members of an interface, or has them with wrong signatures."""


def _isInterface(iface: object) -> bool:
    return isinstance(iface, type) and bool(iface.__dict__.get("_is_protocol"))


def _members(iface: type) -> dict[str, Callable[..., Any] | None]:
    """Each member of ``iface``: its method (a function), or None for an attribute."""
    cached = _MEMBERS.get(iface)
    if cached is not None:
        return cached
    found: dict[str, Callable[..., Any] | None] = {}
    for base in reversed(iface.__mro__):
        if base is Protocol or not base.__dict__.get("_is_protocol"):
            continue
        for name in inspect.get_annotations(base):
            found[name] = None
        for name, value in base.__dict__.items():
            if name in _NOT_MEMBERS:
                continue
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            found[name] = value if inspect.isfunction(value) else None
    _MEMBERS[iface] = found  # not on the class: Protocol would count it as a member
    return found


def _declared(obj: object) -> Iterable[type]:
    """The interfaces ``obj`` is declared to provide (not their bases)."""
    own = getattr(obj, "__dict__", None)
    if own is not None:
        yield from own.get(_PROVIDES, ())
    if not isinstance(obj, type):
        yield from _implementedDeclared(type(obj))


def _implementedDeclared(cls: type) -> Iterable[type]:
    for klass in cls.__mro__:
        yield from klass.__dict__.get(_IMPLEMENTS, ())


def _extends(declared: Iterable[Any], iface: Any) -> bool:
    """Whether one of ``declared`` is ``iface`` or extends it (zope's own interfaces too)."""
    for d in declared:
        if d is iface or (isinstance(d, type) and iface in d.__mro__):
            return True
        extends = None if isinstance(d, type) else getattr(d, "isOrExtends", None)
        if callable(extends) and extends(iface):
            return True
    return False


def _hasMembers(obj: object, iface: type) -> bool:
    members = _members(iface)
    if not members:
        return False  # a marker interface: only a declaration says so
    for name, method in members.items():
        try:
            value = getattr(obj, name)
        except Exception:
            return False
        if method is not None and not callable(value):
            return False
    return True


def providedBy(iface: type, obj: object) -> bool:
    """Whether ``obj`` provides ``iface``, declared or by its members (see the module comment)."""
    if _extends(_declared(obj), iface):
        return True
    if isinstance(obj, type):
        return False
    return iface in type(obj).__mro__ or _hasMembers(obj, iface)


def implementedBy(iface: type, cls: type) -> bool:
    """Whether instances of ``cls`` provide ``iface``: declared, inherited, or by the
    class's methods and (class or annotated) attributes."""
    if not isinstance(cls, type):
        raise TypeError(f"implementedBy takes a class, not {cls!r}")
    if iface in cls.__mro__ or _extends(_implementedDeclared(cls), iface):
        return True
    members = _members(iface)
    if not members:
        return False
    annotated = {n for klass in cls.__mro__ for n in inspect.get_annotations(klass)}
    return all(
        callable(getattr(cls, name, None))
        if method is not None
        else name in annotated or hasattr(cls, name)
        for name, method in members.items()
    )


class InterfaceClass(_ProtocolMeta):
    """The metaclass of torsion's interfaces: ``typing.Protocol``'s, with zope's questions."""

    def providedBy(cls, obj: object) -> bool:
        """Whether ``obj`` provides this interface (see ``torsion._zopecompat``)."""
        return providedBy(cls, obj)

    def implementedBy(cls, klass: type) -> bool:
        """Whether instances of ``klass`` provide this interface."""
        return implementedBy(cls, klass)

    def names(cls) -> list[str]:
        """The interface's members, methods and attributes."""
        return sorted(_members(cls))

    def __call__(cls, *args: Any, **kw: Any) -> Any:
        if not cls.__dict__.get("_is_protocol"):
            return super().__call__(*args, **kw)  # a class that inherits from an interface
        if kw or not 1 <= len(args) <= 2:
            raise TypeError(f"{cls.__name__}(obj[, default]) adapts obj to the interface")
        if providedBy(cls, args[0]):
            return args[0]
        if len(args) == 2:
            return args[1]
        raise TypeError("Could not adapt", args[0], cls)


def declareInterfaces(namespace: MutableMapping[str, Any]) -> None:
    """Make every ``typing.Protocol`` class defined in ``namespace`` an ``InterfaceClass``."""
    for value in list(namespace.values()):
        if _isInterface(value) and type(value) is _ProtocolMeta:
            value.__class__ = InterfaceClass


# -- declarations --------------------------------------------------------------


def _checked(interfaces: tuple[object, ...]) -> tuple[object, ...]:
    for iface in interfaces:
        if not isinstance(iface, type) and not hasattr(iface, "providedBy"):
            raise TypeError(f"not an interface: {iface!r}")
    return interfaces


def implementer(*interfaces: object) -> Callable[[_T], _T]:
    """Class decorator: instances of the class provide ``interfaces`` (recorded once)."""
    declared = _checked(interfaces)

    def decorate(cls: _T) -> _T:
        if isinstance(cls, type):
            own = cls.__dict__.get(_IMPLEMENTS, ())
            type.__setattr__(cls, _IMPLEMENTS, (*own, *declared))
        else:  # a factory function: what it makes provides them (zope's use)
            setattr(cls, _IMPLEMENTS, declared)
        return cls

    return decorate


def directlyProvides(obj: object, *interfaces: object) -> None:
    """``obj`` itself (not its class's instances) provides ``interfaces``, and no others."""
    try:
        setattr(obj, _PROVIDES, _checked(interfaces))
    except AttributeError:
        raise TypeError(f"cannot declare interfaces on {obj!r} (no __dict__)") from None


def alsoProvides(obj: object, *interfaces: object) -> None:
    """``obj`` itself provides ``interfaces`` besides those it was declared to provide."""
    own = getattr(obj, "__dict__", {}).get(_PROVIDES, ())
    directlyProvides(obj, *own, *interfaces)


def provider(*interfaces: object) -> Callable[[_T], _T]:
    """Decorator form of ``directlyProvides``, for classes and functions."""

    def decorate(obj: _T) -> _T:
        directlyProvides(obj, *interfaces)
        return obj

    return decorate


# -- verification --------------------------------------------------------------


_Shape = tuple[int, int, bool, bool, frozenset[str]]


def _shape(signature: inspect.Signature, dropFirst: bool) -> _Shape:
    """(required positional, positional, *args, **kw, required keyword-only names)."""
    params = list(signature.parameters.values())
    if dropFirst and params and params[0].kind <= inspect.Parameter.POSITIONAL_OR_KEYWORD:
        params = params[1:]
    positional = [p for p in params if p.kind <= inspect.Parameter.POSITIONAL_OR_KEYWORD]
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    kinds = {p.kind for p in params}
    keywordOnly = frozenset(
        p.name
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    )
    return (
        len(required),
        len(positional),
        inspect.Parameter.VAR_POSITIONAL in kinds,
        inspect.Parameter.VAR_KEYWORD in kinds,
        keywordOnly,
    )


def _wanted(iface: Any) -> dict[str, _Shape | None]:
    """Each member of ``iface``: its method's shape, or None for an attribute.

    ``iface`` is a torsion interface, or one written with zope's ``Interface``
    (ported code's own), read through zope's public description API.
    """
    if _isInterface(iface):
        return {
            name: None if method is None else _shape(inspect.signature(method), dropFirst=True)
            for name, method in _members(iface).items()
        }
    if isinstance(iface, type) or not hasattr(iface, "namesAndDescriptions"):
        raise TypeError(f"not an interface (a typing.Protocol class): {iface!r}")
    wanted: dict[str, _Shape | None] = {}
    for name, description in iface.namesAndDescriptions(all=True):
        info = getattr(description, "getSignatureInfo", None)
        if info is None:
            wanted[name] = None
            continue
        sig = info()
        shape = (len(sig["required"]), len(sig["positional"]), bool(sig["varargs"]))
        wanted[name] = (*shape, bool(sig["kwargs"]), frozenset())
    return wanted


def _signatureProblem(name: str, want: _Shape, found: Any, bound: bool) -> str | None:
    try:
        have = _shape(inspect.signature(found), dropFirst=not bound)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: nothing to compare
    if have[0] > want[0]:
        return f"{name}() requires more arguments than the interface's {want[0]}"
    if have[1] < want[1] and not have[2]:
        return f"{name}() does not accept the interface's {want[1]} positional arguments"
    if want[2] and not have[2]:
        return f"{name}() does not accept *args"
    if want[3] and not have[3]:
        return f"{name}() does not accept **kwargs"
    if have[4] - want[4]:
        return f"{name}() requires keyword arguments {sorted(have[4] - want[4])}"
    return None


def _isDeclared(iface: Any, candidate: Any, isClass: bool) -> bool:
    if _isInterface(iface):
        return (implementedBy if isClass else providedBy)(iface, candidate)
    return _extends(_implementedDeclared(candidate) if isClass else _declared(candidate), iface)


def _verify(iface: Any, candidate: Any, isClass: bool) -> bool:
    wanted = _wanted(iface)
    problems = []
    if not wanted and not _isDeclared(iface, candidate, isClass):
        problems.append("it has no members to check, and is not declared with implementer")
    for name, want in wanted.items():
        if want is None:
            if not isClass and not hasattr(candidate, name):
                problems.append(f"the attribute {name!r} is missing")
            continue
        found = getattr(candidate, name, _MISSING)
        if found is _MISSING:
            problems.append(f"the method {name!r} is missing")
        elif not callable(found):
            problems.append(f"{name!r} is not a method")
        else:
            raw = inspect.getattr_static(candidate, name, None) if isClass else None
            bound = not isClass or isinstance(raw, staticmethod | classmethod)
            problem = _signatureProblem(name, want, found, bound)
            if problem:
                problems.append(problem)
    if problems:
        what = candidate.__name__ if isClass else repr(candidate)
        raise BrokenImplementation(
            f"{what} does not implement {iface.__name__}: " + "; ".join(problems)
        )
    return True


def verifyObject(iface: Any, candidate: object, tentative: bool = False) -> bool:
    """Check that ``candidate`` has every method (with a compatible signature) and
    attribute of ``iface``; True, or ``BrokenImplementation`` naming what is wrong.

    ``iface`` may also be an interface written with zope's ``Interface``.
    ``tentative`` is accepted for zope's signature: a declaration is needed
    only for an interface without members (a marker).
    """
    return _verify(iface, candidate, isClass=False)


def verifyClass(iface: Any, candidate: type, tentative: bool = False) -> bool:
    """Check that ``candidate``'s instances would have ``iface``'s methods, with
    compatible signatures (attributes, often set per instance, are not checked)."""
    return _verify(iface, candidate, isClass=True)
