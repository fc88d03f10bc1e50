"""Renderers, all pure (they return text or rich renderables and never print or write).

``text`` shows a plan in the terminal. The audit reports render one ``model.AuditView``:
``markdown`` (chat post, CI job summary), ``html`` (one self-contained page), ``junit``
(CI test results) and ``json_report`` (the plan file plus an ``audit`` object).
"""
