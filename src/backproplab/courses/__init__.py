"""Each course's contract in one place: purdue, jku, radboud (see CONTRACTS.md)."""
