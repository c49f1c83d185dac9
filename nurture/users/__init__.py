"""People who sign in: sales, marketers and admins."""
