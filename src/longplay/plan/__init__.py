"""Plan: listen weights, coverage analytics and the budgeted archive plan (see README.md)."""
