"""Admission: each class of expensive request (uploads, searches, analyses) has a bounded number of places in
a process; a request finding them all taken is refused at once with ``Busy`` (503 + Retry-After, code
``<class>_busy``) instead of queueing until something times out. Cold renders have their own bounded pool
(``engine.render.pool``), cheap metadata requests no gate at all; and a server process answers them ahead of its heavy threads
(``RequestPriority``), and full garbage collections do not stall it (``LongLivedHeap``)."""

from engine.admission.gates import Admission, AdmissionSettings, Gate
from engine.admission.heap import LongLivedHeap
from engine.admission.priority import RequestPriority

__all__ = ["Admission", "AdmissionSettings", "Gate", "LongLivedHeap", "RequestPriority"]
