"""planner: long LLM generations over unreliable networks."""

__version__ = "0.1.0"

__all__ = ["__version__"]
