"""A/B experiments: specs, assignment, outcomes, MLflow tracking, export, and the shared workflow."""
