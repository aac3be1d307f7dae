"""``Actor``, the base class of every actor, and ``@handles``, which routes messages by type."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from supervision.mailbox import Envelope

if TYPE_CHECKING:
    from supervision.cell import ActorCell
    from supervision.ref import ActorRef

F = TypeVar("F", bound=Callable[..., Any])
Handlers = dict[type, tuple[Callable[[Any], Any], bool]]

_MARK = "__supervision_handles__"


def handles(*message_types: type) -> Callable[[F], F]:
    """Mark a method (``def`` or ``async def``) as the handler of these message types.

    A message is routed by its exact type, else by the nearest base class in its MRO that has
    a handler. A subclass inherits its bases' handlers and may override them.
    """
    if not message_types or not all(isinstance(t, type) for t in message_types):
        raise TypeError("@handles takes one or more message classes")

    def mark(func: F) -> F:
        setattr(func, _MARK, (*getattr(func, _MARK, ()), *message_types))
        return func

    return mark


class Actor:
    """Subclass this; run it under a ``Supervisor`` (``ChildSpec(id, factory)``).

    The runtime calls ``started()`` before the first message, then one handler at a time,
    then ``stopping()`` on a clean stop. An exception in an ask handler goes back to the
    asker; one in a tell handler, a hook or a spawned task crashes this incarnation.
    Exit normally with ``self.stop()`` or by raising ``NormalExit``.
    """

    _handler_names: ClassVar[dict[type, str]] = {}
    _cell: ActorCell | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[type, str] = {}
        for klass in reversed(cls.__mro__):
            own: dict[type, str] = {}
            for attr_name, attr in vars(klass).items():
                for message_type in getattr(attr, _MARK, ()):
                    if message_type in own:
                        raise TypeError(
                            f"{klass.__name__}: {own[message_type]} and {attr_name} "
                            f"both handle {message_type.__name__}"
                        )
                    own[message_type] = attr_name
            table.update(own)
        cls._handler_names = table

    @property
    def ref(self) -> ActorRef:
        """This actor's own ref (available from ``started()`` on)."""
        if self._cell is None:
            raise RuntimeError(f"{type(self).__name__} is not running under a supervisor yet")
        return self._cell.ref

    async def started(self) -> None:
        """Hook: runs before the first message; raising here fails the start."""

    async def stopping(self) -> None:
        """Hook: runs on a clean stop (asked by the supervisor, ``stop()`` or ``NormalExit``)."""

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> asyncio.Task[Any]:
        """Run ``coro`` as a task owned by this incarnation.

        The task is cancelled when the incarnation stops or crashes. If it raises (anything
        but ``CancelledError``) the actor crashes; if it raises ``NormalExit`` the actor stops
        normally after its current message.
        """
        return self._live_cell(coro).spawn(self, coro, name)

    def drain(self, predicate: Callable[[Any], bool], limit: int) -> list[Envelope]:
        """Take queued messages for a group commit; call it from inside a handler.

        Returns up to ``limit`` envelopes from the head of the mailbox, in order, as long as
        ``predicate(message)`` is True: the first queued message that does not match ends
        the run (runtime pings are stepped over), so mailbox order is never changed.
        Each ``Envelope`` has ``.message``, ``.is_ask``, ``.answered``, ``.reply(value)`` and
        ``.fail(error)`` (both no-ops for tells). Answer every drained ask before the handler
        returns: if the handler raises, unanswered drained asks get the same exception; if it
        returns, they get a ``RuntimeError``; if the actor crashes, ``ActorCrashed``.
        Drained messages count as processed.
        """
        return self._live_cell().drain(self, predicate, limit)

    def stop(self) -> None:
        """Exit normally once the current message is done (``stopping()`` runs).

        A transient or temporary child is then not restarted (its queued asks get
        ``ActorStopped``); a permanent one is restarted and keeps its mailbox.
        """
        self._live_cell().request_stop()

    def attach_cell(self, cell: ActorCell) -> None:
        """Runtime use: ``cell`` now runs this instance (``ActorCell.launch`` calls it)."""
        self._cell = cell

    def bind_handlers(self) -> Handlers:
        """Runtime use: this instance's handler methods by message type, each flagged async."""
        table: Handlers = {}
        for message_type, attr_name in self._handler_names.items():
            method = getattr(self, attr_name)
            table[message_type] = (method, inspect.iscoroutinefunction(method))
        return table

    def _live_cell(self, coro: Coroutine[Any, Any, Any] | None = None) -> ActorCell:
        cell = self._cell
        if cell is None or not cell.is_current(self):
            if coro is not None:
                coro.close()
            raise RuntimeError(f"{type(self).__name__} is not a running incarnation")
        return cell
