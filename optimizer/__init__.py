"""archopt: measure CNN candidates and keep the accuracy / step-time Pareto front."""

__version__ = "0.1.0"
