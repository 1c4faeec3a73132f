"""kubectl-podfix: explain why a pod will not run, and optionally fix it safely."""

__version__ = "0.1.0"
