"""The backtest's evaluation: scoring alert openings against labelled episodes by the field's
reference rules (scoring), and the self-contained HTML report of a run (report)."""
