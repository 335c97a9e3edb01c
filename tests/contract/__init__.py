"""The contract suite every platform connector must pass."""
