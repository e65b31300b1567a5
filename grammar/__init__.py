"""Package data: the expression grammar (policy.lark), installed as slapolicy.grammar."""
