"""Reports the programme files: the expert's monthly summary and the annual programme report per agreement."""
