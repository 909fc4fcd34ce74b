"""The result model: the contract between collectors, the rule engine and the renderers, as code.

* :mod:`scanner.model.terms` -- the closed vocabularies (severities, platforms, evidence levels,
  legal documents), loaded from their one home, ``rules/model.yaml``;
* :mod:`scanner.model.records` -- frozen records every stage exchanges (limitations, evidence,
  findings, manual checks) and the typed shapes of the result's sections;
* :mod:`scanner.model.facts` -- the registry of fact kinds (where each lives in the result, its id
  prefix, its evidence kind, its schema fragment, its display order);
* :mod:`scanner.model.view` -- :class:`~scanner.model.view.ResultView`, the one way to read a
  result: ``fact(ref)``, ``evidence(finding)``, ``items(kind)``;
* :mod:`scanner.model.collector` -- the collector and joiner interface of the scan pipeline.
"""
