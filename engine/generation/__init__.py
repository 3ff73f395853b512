"""Generation: images from text through a chain of hosted providers, stored as assets, priced in the ledger.

The service is imported from ``engine.generation.service`` and the contract from ``engine.generation.models``;
this package stays light so ``engine.settings`` can import ``engine.generation.settings`` without a cycle.
"""
