"""Package data: the bundled policies, installed as engine.policies."""
