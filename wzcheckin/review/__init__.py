"""Review room: risk signals per enterprise, the officials' review queue for P6/P7/P8
applications, and the budget (issue 14 items 1, 2 and 8)."""
