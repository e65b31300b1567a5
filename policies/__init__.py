"""Package data: the bundled policies, installed as slapolicy.policies."""
