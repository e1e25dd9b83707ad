"""Administration: institutions, agreements, deployments, users."""
