"""The reconciler: where config, plugins/, state, journal and registry disagree, and the fixes."""

from actors.reconciler.actor import Reconciler, ReconcilerSettings
from actors.reconciler.messages import GetLastReconcile, RunReconcile

__all__ = ["GetLastReconcile", "Reconciler", "ReconcilerSettings", "RunReconcile"]
