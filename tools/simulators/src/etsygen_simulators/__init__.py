"""Stand-ins for the outside world: the Etsy Open API v3 (:mod:`etsygen_simulators.etsy`) and the AI
providers' HTTP APIs (:mod:`etsygen_simulators.ai`).

Development (``etsygen dev``), the tests, the benchmarks and the chaos suite start them; no service imports
them, so the service packages ship only service code.
"""
