"""Work log: the activity catalogue, entry validation, patient-privacy checks and entry rules."""
